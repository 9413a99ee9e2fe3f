#!/usr/bin/env bash
# Run LocalStack (host mode, no Docker) for the acceptance tests.
#   tools/localstack.sh up        start (or reuse) LocalStack, wait until healthy, print the endpoint URL
#   tools/localstack.sh down      stop it (whole process group), never fails
#   tools/localstack.sh status    exit 0 iff running and healthy (prints the endpoint)
#   tools/localstack.sh endpoint  print the endpoint URL of the running instance (exit 1 if none)
# State lives in <repo>/.tools/localstack/{pid,endpoint,localstack.log,volume,filesystem}.
# Needs tools/bootstrap.sh to have run. up/down are serialised with flock, so concurrent callers are safe.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VPY="$ROOT/.tools/venv/bin/python"
STATE="$ROOT/.tools/localstack"
PIDF="$STATE/pid"
EPF="$STATE/endpoint"
LOG="$STATE/localstack.log"
LOCK="$STATE/lock"
START_TIMEOUT="${LOCALSTACK_START_TIMEOUT:-90}"
REQUIRED_SERVICES="route53 elbv2 ec2 sts cloudwatch"

say() { echo "localstack: $*" >&2; }

pid_alive() { [[ -f "$PIDF" ]] && kill -0 "$(cat "$PIDF")" 2>/dev/null; }

# Healthy = process alive, /_localstack/health answers, every required service is available/running.
healthy() {
  pid_alive && [[ -f "$EPF" ]] || return 1
  "$VPY" - "$(cat "$EPF")" $REQUIRED_SERVICES <<'EOF' 2>/dev/null
import json, sys, urllib.request
endpoint, wanted = sys.argv[1], sys.argv[2:]
try:
    with urllib.request.urlopen(endpoint + "/_localstack/health", timeout=2) as r:
        services = json.load(r).get("services", {})
except Exception:
    sys.exit(1)
sys.exit(0 if all(services.get(s) in ("available", "running") for s in wanted) else 1)
EOF
}

stop() {
  if [[ -f "$PIDF" ]]; then
    local pid; pid="$(cat "$PIDF")"
    # The server was started with setsid, so its pid is also its process-group id: signal the group.
    if kill -0 "$pid" 2>/dev/null; then
      say "stopping pid/pgid $pid"
      kill -TERM -- "-$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL -- "-$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$PIDF" "$EPF"
}

start() {
  [[ -x "$VPY" ]] || { say "no venv at $VPY; run tools/bootstrap.sh first"; exit 1; }
  if healthy; then cat "$EPF"; return 0; fi
  stop   # stale pid/endpoint or a half-started instance
  mkdir -p "$STATE/volume" "$STATE/filesystem" "$STATE/tmp"
  local port t0
  port="$("$VPY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
  echo "http://127.0.0.1:$port" > "$EPF"
  say "starting on 127.0.0.1:$port (log: $LOG)"
  t0=$(date +%s)
  # Environment, with the reasons:
  #   GATEWAY_LISTEN        bind loopback only, on a free port (several checkouts can run side by side)
  #   SERVICES + EAGER_SERVICE_LOADING  only what the provider needs, loaded at startup so that a broken
  #                         plugin shows up in /_localstack/health (state "error") instead of on first use
  #   DNS_ADDRESS=0         no DNS server (it wants port 53 and is useless here)
  #   DISABLE_EVENTS=1      no analytics/telemetry calls home (offline machine)
  #   SKIP_SSL_CERT_DOWNLOAD=1  do not try to download the localhost.localstack.cloud certificate
  #   LOCALSTACK_VOLUME_DIR / FILESYSTEM_ROOT  keep LocalStack's files under .tools/localstack, not in the venv
  #   PERSISTENCE=0         fresh state every start
  #   TMPDIR                per instance: in host mode CloudWatch keeps its metrics database under
  #                         $TMPDIR/localstack/state; a shared one breaks the other instances ("unable to open
  #                         database file")
  # AWS_* from the caller's shell are dropped so they cannot leak into LocalStack's internal clients.
  # stdin from /dev/null, output to the log, lock fd 9 closed (else the server would hold the flock);
  # setsid = new session + process group, so `down` can kill everything it started.
  env -u AWS_ENDPOINT_URL -u AWS_PROFILE -u AWS_DEFAULT_PROFILE -u AWS_CONFIG_FILE -u AWS_SHARED_CREDENTIALS_FILE \
    GATEWAY_LISTEN="127.0.0.1:$port" \
    SERVICES=route53,elbv2,ec2,sts,cloudwatch \
    EAGER_SERVICE_LOADING=1 \
    DNS_ADDRESS=0 \
    DISABLE_EVENTS=1 \
    SKIP_SSL_CERT_DOWNLOAD=1 \
    LOCALSTACK_VOLUME_DIR="$STATE/volume" \
    FILESYSTEM_ROOT="$STATE/filesystem" \
    PERSISTENCE=0 \
    TMPDIR="$STATE/tmp" \
    DEBUG=0 \
    setsid "$VPY" -m localstack.runtime.main </dev/null >"$LOG" 2>&1 9>&- &
  echo $! > "$PIDF"
  while ! healthy; do
    if ! pid_alive; then
      say "LocalStack exited during startup; last log lines:"; tail -n 30 "$LOG" >&2 || true
      stop; exit 1
    fi
    if (( $(date +%s) - t0 >= START_TIMEOUT )); then
      say "not healthy after ${START_TIMEOUT}s; last log lines:"; tail -n 30 "$LOG" >&2 || true
      stop; exit 1
    fi
    sleep 0.25
  done
  # Warm-up: moto builds each backend on its first request (1-3 s each); pay that here, with read-only
  # calls, instead of inside the first test's timeout. A failure here is only reported, not fatal.
  "$VPY" - "$(cat "$EPF")" <<'EOF' >&2 || say "warm-up failed (see above); LocalStack is up anyway"
import sys, boto3
kw = dict(endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
boto3.client("sts", **kw).get_caller_identity()
boto3.client("route53", **kw).list_hosted_zones()
boto3.client("elbv2", **kw).describe_load_balancers()
boto3.client("ec2", **kw).describe_vpcs()
boto3.client("cloudwatch", **kw).describe_alarms()
EOF
  say "healthy and warmed up after $(( $(date +%s) - t0 ))s"
  cat "$EPF"
}

mkdir -p "$STATE"
case "${1:-}" in
  up)       exec 9>"$LOCK"; flock 9; start ;;
  down)     exec 9>"$LOCK"; flock 9; stop ;;
  status)   if healthy; then cat "$EPF"; else exit 1; fi ;;
  endpoint) if pid_alive && [[ -f "$EPF" ]]; then cat "$EPF"; else say "not running"; exit 1; fi ;;
  *)        echo "usage: $0 up|down|status|endpoint" >&2; exit 2 ;;
esac
