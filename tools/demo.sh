#!/usr/bin/env bash
# `make demo`: the whole cutover story, with real `terraform apply`s of this provider against LocalStack.
#
#   setup    fixtures: a legacy stack (EC2 behind an ALB, a simple alias record for the public name) and a new one
#            (ECS behind another ALB); a local stand-in for green's /healthz
#   phase 1  adopt the record into a bluegreen_switch (polling Route 53 throughout: no moment without an answer)
#   phase 2  bluegreen_canary_listener at 0 %: "X-Canary: 1" reaches green through the production name
#   phase 3  roll the legacy ALB out to ECS, 10 -> 50 -> 100 %, behind passing health gates
#   phase 4  move DNS to the new ALB; green answers real users with 5xx (ALB metrics in CloudWatch) after the
#            first step, though /healthz says 200; the provider's error-rate gate rolls back
#   phase 5  fixed: DNS 10 -> 50 -> 100 %; destroy collapses to one record for green; retire the legacy stack
#
# After every phase it asks AWS (ListResourceRecordSets, DescribeRules), not terraform, and checks the answer;
# it exits non-zero as soon as a phase misbehaves. Full logs stay in the directory it prints.
#
# Needs a running LocalStack (.tools/localstack/endpoint), .tools/ (make tools) and a debug build of the
# provider (cargo build -p terraform-provider-bluegreen). `make demo` does all of that and stops LocalStack after.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
demo="$root/tools/demo"
PY="$root/.tools/venv/bin/python"
TF="$root/.tools/bin/terraform"
PROVIDER="$root/target/debug/terraform-provider-bluegreen"

# --- presentation -----------------------------------------------------------------------------------------------
if [[ -t 1 ]]; then B=$'\e[1m' DIM=$'\e[2m' G=$'\e[32m' R=$'\e[31m' N=$'\e[0m'; else B='' DIM='' G='' R='' N=''; fi
say() { printf '%s\n' "$@"; }
cmd() { local c="$*"; printf '%s$ %s%s\n' "$DIM" "${c//$root\//}" "$N"; }
ok() { printf '  %s✓%s %s\n' "$G" "$N" "$*"; }
die() { printf '%sdemo: %s%s\n' "$R" "$*" "$N" >&2; exit 1; }
ms() { date +%s%3N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1fs", (b - a) / 1000 }'; }

# --- preconditions ----------------------------------------------------------------------------------------------
[[ -x "$PY" && -x "$TF" ]] || die "no .tools/ (run \`make tools\`, or \`make demo\` which does everything)"
[[ -x "$PROVIDER" ]] || die "no provider build at $PROVIDER (run \`cargo build -p terraform-provider-bluegreen\`)"
endpoint=$("$root/tools/localstack.sh" status 2>/dev/null) ||
  die "LocalStack is not running (\`tools/localstack.sh up\`; \`make demo\` starts and stops it)"

logs=$(mktemp -d "${TMPDIR:-/tmp}/bluegreen-demo.XXXXXX")
work="$logs/work"   # the terraform working directory: configuration, state, .terraform
health="$logs/health"
mkdir -p "$work" "$health"

# --- the story's bookkeeping: phases, their time, the summary ---------------------------------------------------
t_start=$(ms)
phase_no=0 phase_title="setup" phase_t=$t_start
summary=()
bg_pids=()

phase() {
  phase_no=$1 phase_title=$2 phase_t=$(ms)
  printf '\n%s━━ Phase %s/5: %s ━━%s\n' "$B" "$1" "$2" "$N"
}
phase_done() {
  summary+=("$(printf '  %s✓%s %s %-38s %6s  %s' "$G" "$N" "$phase_no" "$phase_title" "$(secs "$phase_t" "$(ms)")" "$1")")
}
fail() {
  printf '  %s✗ %s%s\n' "$R" "$*" "$N"
  exit 1
}

finish() {
  local rc=$?
  for p in "${bg_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if ((rc == 130)) && [[ -n "${tf_running:-}" ]]; then
    # Terraform got the Ctrl-C too, asked the provider to stop, and says where traffic was left.
    say "" "  Interrupted during ${tf_running##*/}:"
    "$PY" "$demo/tfout.py" "$tf_running.out" "$tf_running.provider.log" || true
  fi
  printf '\n%s━━ Summary ━━%s\n' "$B" "$N"
  ((${#summary[@]})) && printf '%s\n' "${summary[@]}"
  if ((rc == 0)); then
    say "  ${G}The cutover story ran as it should${N} in $(secs "$t_start" "$(ms)") (LocalStack start and stop not included)."
  elif ((rc == 130)); then
    say "  ${R}INTERRUPTED${N} in phase $phase_no ($phase_title) after $(secs "$t_start" "$(ms)")."
  else
    say "  ${R}DEMO FAILED${N} in phase $phase_no ($phase_title) after $(secs "$t_start" "$(ms)"); see above."
  fi
  say "  Full terraform output, provider logs and AWS polls: $logs"
  exit "$rc"
}
trap finish EXIT
# Ctrl-C: terraform (same process group) stops the provider at the current step; bash runs this once it exits.
trap 'exit 130' INT TERM
trap 'printf "  %s✗ a command failed (line %s): %s%s\n" "$R" "$LINENO" "$BASH_COMMAND" "$N"' ERR

# --- terraform ----------------------------------------------------------------------------------------------------
cat >"$logs/cli.tfrc" <<CFG
# Terraform uses this build of the provider instead of a registry release (no terraform init needed).
provider_installation {
  dev_overrides {
    "cutover/bluegreen" = "$(dirname "$PROVIDER")"
  }
  direct {}
}
CFG
unset TF_LOG TF_LOG_CORE TF_LOG_PATH TF_CLI_ARGS TF_CLI_ARGS_apply TF_CLI_ARGS_plan TF_CLI_ARGS_destroy TF_DATA_DIR \
  TF_PLUGIN_CACHE_DIR TF_WORKSPACE AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN
export TF_CLI_CONFIG_FILE="$logs/cli.tfrc" CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1
export AWS_ENDPOINT_URL="$endpoint" AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 \
  AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null

runs=0
# tf NAME SUBCOMMAND ARGS...: runs terraform in $work, keeps its full output and the provider's log under NAME,
# prints the trimmed version, and leaves terraform's exit code in $tf_rc (never exits on its own).
tf() {
  local name log
  runs=$((runs + 1))
  name=$(printf '%02d-%s' "$runs" "$1")
  shift
  log="$logs/$name"
  cmd "terraform $*"
  tf_rc=0 tf_running=$log
  (cd "$work" && TF_LOG_PROVIDER=INFO TF_LOG_PATH="$log.provider.log" \
    "$TF" "$@" -input=false -no-color >"$log.out" 2>&1) || tf_rc=$?
  tf_running=""
  "$PY" "$demo/tfout.py" "$log.out" "$log.provider.log"
  tf_out="$log.out"
}
apply() { tf "$1" apply -auto-approve "${@:2}"; }
# state_traffic ADDRESS: the resource's traffic in terraform's state.
state_traffic() {
  (cd "$work" && "$TF" show -json) | "$PY" -c '
import json, sys
for r in json.load(sys.stdin)["values"]["root_module"]["resources"]:
    if r["address"] == sys.argv[1]:
        print(r["values"]["traffic"])' "$1"
}
must_succeed() { ((tf_rc == 0)) || fail "terraform exited with $tf_rc; it should have succeeded (full output: $tf_out)"; }

# --- AWS's view ---------------------------------------------------------------------------------------------------
# Background jobs run "$PY" "$demo/aws.py" directly, not through this function: `$!` must be python's pid, or
# finish() kills a subshell and leaves python polling the stack after the demo (seen: 56 minutes later).
aws() { "$PY" "$demo/aws.py" "$@"; }
# show --dns EXPECT --alb EXPECT: prints and checks what AWS holds.
show() { aws show "$logs/stack.json" "$@" || fail "AWS does not hold what phase $phase_no should leave"; }

# watch dns|alb NAME: polls Route 53 or the legacy listener in the background until watched_report.
watch() {
  watch_what=$1 watch_file="$logs/$(printf '%02d' $((runs + 1)))-$2.$1-polls.jsonl"
  rm -f "$watch_file.stop"
  "$PY" "$demo/aws.py" watch "$logs/stack.json" "$watch_what" "$watch_file" "$watch_file.stop" &
  watch_pid=$!
  bg_pids+=("$watch_pid")
  # The first poll must be in before terraform starts.
  for _ in $(seq 1 100); do [[ -s "$watch_file" ]] && return 0; sleep 0.1; done
  fail "the $watch_what poller saw nothing within 10s"
}
# watched_report EXPECTED-STATES... [--no-gap]: stops the poller half a second after terraform exited (its last
# change can land just before it exits) and checks the states it saw, in order.
watched_report() {
  sleep 0.5
  touch "$watch_file.stop"
  wait "$watch_pid" || fail "the $watch_what poller failed"
  aws report "$watch_file" "$watch_what" "$@" || fail "the polls during the apply did not see what they should"
}

# health CODES...: what green's /healthz answers from now on; health_seen: the answers since the last call.
health_seen_lines=0
health() { echo "$*" >"$health/codes"; }
health_seen() {
  local codes n
  codes=$(awk -v from="$health_seen_lines" 'NR > from { print $NF }' "$health/requests.log" 2>/dev/null | xargs || true)
  n=$(wc -w <<<"$codes")
  health_seen_lines=$((health_seen_lines + n))
  say "  green's /healthz was asked $n time(s) during the apply: ${codes:-never}"
  [[ "$codes" == "$1" ]] || fail "expected the health checks to be answered: $1"
}

# health_only CODE: every health check since the last call was answered CODE (how many depends on check_interval).
health_only() {
  local codes n
  codes=$(awk -v from="$health_seen_lines" 'NR > from { print $NF }' "$health/requests.log" 2>/dev/null | xargs || true)
  n=$(wc -w <<<"$codes")
  health_seen_lines=$((health_seen_lines + n))
  say "  green's /healthz was asked $n time(s) during the apply: ${codes:-never}"
  [[ -n "$codes" && -z "$(tr ' ' '\n' <<<"$codes" | grep -vx "$1" || true)" ]] || fail "expected every health check to be answered $1"
}

# ==================================================================================================================
say "${B}bluegreen demo${N}: move production traffic from a legacy stack (EC2 behind an ALB) to a new one"
say "(ECS Fargate behind another ALB) without downtime, with real \`terraform apply\`s of the cutover/bluegreen"
say "provider against LocalStack ($endpoint). After every phase the demo asks AWS, not terraform,"
say "what Route 53 and the legacy ALB hold, and checks it. Full logs: $logs"

say "" "${B}Setup${N}: creating both stacks in LocalStack (tools/demo/fixtures.py)"
name=$(printf 'demo%06d%02d' $(($(date +%s) % 1000000)) $((RANDOM % 100)))
"$PY" "$demo/fixtures.py" "$name" "$endpoint" >"$logs/stack.json" || fail "could not create the fixtures"
stack() { "$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$logs/stack.json" "$1"; }
record=$(stack record_name)

# Green's health endpoint: LocalStack's ALBs serve no HTTP, so a local status server stands in for
# https://<new ALB>/healthz.
health 200
"$PY" "$demo/status_server.py" "$health" &
bg_pids+=("$!")
for _ in $(seq 1 50); do [[ -s "$health/port" ]] && break; sleep 0.1; done
[[ -s "$health/port" ]] || fail "the status server did not start"
health_url="http://127.0.0.1:$(cat "$health/port")/healthz"

"$PY" - "$logs/stack.json" "$health_url" >"$work/fixture.auto.tfvars.json" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
keys = ["zone_name", "record_name", "legacy_lb_name", "legacy_tg_name", "new_lb_name", "green_tg_name", "green_via_legacy_tg_name", "green_alarms"]
json.dump({**{k: s[k] for k in keys}, "green_health_url": sys.argv[2]}, sys.stdout, indent=2)
EOF
say "  legacy (blue)   ALB $(stack legacy_lb_name) -> target group $(stack legacy_tg_name) (2 EC2 instances)"
say "  new (green)     ALB $(stack new_lb_name) -> target group $(stack green_tg_name) (2 Fargate tasks),"
say "                  and the same tasks in $(stack green_via_legacy_tg_name), for the legacy ALB"
say "  public name     $record: a simple alias record -> the legacy ALB"
say "  green /healthz  $health_url (a local stand-in; answers 200)"
say "  alarms          $(stack green_alarms) (the new service's; INSUFFICIENT_DATA counts as passing)"
# Real users: ALB metrics in CloudWatch that follow the DNS weights; green's share of 5xx is in $health/green-5xx.
echo 0 >"$health/green-5xx"
"$PY" "$demo/aws.py" users "$logs/stack.json" "$health/green-5xx" "$health/users.stop" 2>>"$logs/users.log" &
bg_pids+=("$!")
say "  users           1000 requests every 0.5 s, split by the DNS weights, published as ALB metrics in CloudWatch"
say "  terraform       $work (tools/demo/*.tf, variables from fixture.auto.tfvars.json)"
say "" "Today, as AWS reports it:"
show --dns simple:legacy --alb plain
cp "$demo/main.tf" "$demo/variables.tf" "$work/"
summary+=("$(printf '    %-40s %6s  %s' "setup: both stacks in LocalStack" "$(secs "$t_start" "$(ms)")" "legacy serves api; green idle")")

# ==================================================================================================================
phase 1 "Adopt today's record"
say "bluegreen_switch (tools/demo/main.tf) with adopt_existing = true replaces the simple record with a weighted"
say "pair -- blue -> legacy ALB, weight 100; green -> new ALB, weight 0 -- in one Route 53 change batch, so users"
say "notice nothing. Meanwhile a poller calls ListResourceRecordSets as fast as it can."
watch dns adopt
apply adopt -var-file="$demo/phases/1-adopt.tfvars"
must_succeed
watched_report simple:legacy pair:100/0 --no-gap
show --dns pair:100/0 --alb plain
adopt_polls=$(wc -l <"$watch_file")
phase_done "simple -> weighted 100/0; answer at all $adopt_polls polls"

# ==================================================================================================================
phase 2 "QA reaches green by a header"
say "canary.tf adds a bluegreen_canary_listener to the legacy ALB's listener at traffic = 0: a weighted rule (EC2 100,"
say "ECS 0) and, before it, a test rule sending requests with 'X-Canary: 1' to the ECS tasks only. QA tests"
say "green at http://$record/ with one header; users still get EC2."
cmd "cp tools/demo/canary.tf ."
cp "$demo/canary.tf" "$work/"
apply qa -var-file="$demo/phases/2-qa.tfvars"
must_succeed
show --dns pair:100/0 --alb canary:100/0
say "  The test rule, as ELBv2 returns it (DescribeRules):"
aws rule "$logs/stack.json" 99 || fail "no test rule"
phase_done "X-Canary: 1 -> ECS; users 100% EC2"

# ==================================================================================================================
phase 3 "Roll the legacy ALB out to ECS"
say "alb_traffic = 100 with rollout { steps = [10, 50], bake_time = \"2s\" } (minutes in production). Before the"
say "first step and after every bake the health gate checks green: 2 healthy targets in its target group, and"
say "GET /healthz answering 200. A poller calls DescribeRules throughout."
watch alb alb-rollout
apply alb-rollout -var-file="$demo/phases/3-alb-rollout.tfvars"
must_succeed
watched_report rule:100/0 rule:90/10 rule:50/50 rule:0/100
health_seen "200 200 200"
show --dns pair:100/0 --alb canary:0/100
phase_done "legacy ALB: EC2 -> 10 -> 50 -> 100% ECS"

# ==================================================================================================================
phase 4 "A failing gate rolls back on its own"
say "Now DNS moves to the new ALB: dns_traffic = 100, same steps. /healthz keeps answering 200 -- but green answers"
say "8 % of real users' requests with 5xx (a bad config value, say), and CloudWatch sees it: the gate's error_rate"
say "(green's HTTPCode_Target_5XX_Count / RequestCount, at most 1 %) and the team's alarms are read every"
say "check_interval. Expected: the provider sets 10%, users reach green, the next check sees their 5xx, it puts"
say "Route 53 back to 0% itself, and the apply fails naming the error rate."
echo 0.08 >"$health/green-5xx"
watch dns dns-rollout-fails
apply dns-rollout-fails -var-file="$demo/phases/4-dns-rollout.tfvars"
((tf_rc != 0)) || fail "terraform apply succeeded; the failing health gate should have failed it"
grep -q "Error: Health gate failed: traffic rolled back to 0%" "$tf_out" ||
  fail "terraform failed, but not with 'Health gate failed: traffic rolled back to 0%' (full output: $tf_out)"
grep -q "health_gate.error_rate.max_percent: green's 5xx rate is" "$tf_out" ||
  fail "the gate failed, but not on green's error rate (full output: $tf_out)"
ok "terraform apply failed (exit $tf_rc), as it should: Health gate failed: traffic rolled back to 0%"
watched_report pair:100/0 pair:90/10 pair:100/0
health_only 200
# (Not -detailed-exitcode: terraform 1.0.3 exits 2 at random with data sources in the configuration, when the
# order of a resource's dependencies in the state flips.)
tf refresh-check plan -refresh-only -var-file="$demo/phases/4-dns-rollout.tfvars"
((tf_rc == 0)) && grep -q "^No changes." "$tf_out" ||
  fail "terraform's state does not match AWS after the rollback (see $tf_out)"
[[ "$(state_traffic bluegreen_switch.api)" == 0 ]] || fail "terraform's state says traffic = $(state_traffic bluegreen_switch.api), not 0"
ok "terraform's state agrees with AWS: traffic = 0, and a refresh-only plan finds nothing to change"
show --dns pair:100/0 --alb canary:0/100
phase_done "DNS 10% -> users get 5xx -> back to 0% by itself"

# ==================================================================================================================
phase 5 "Fixed: 100%, collapse, retire blue"
say "Green is fixed: its 5xx stop. The gate reads a 1-minute window, so the demo waits for the minute holding"
say "the bad requests to pass (in production: error_rate.window). The same apply then walks DNS 10% -> 50% -> 100%."
echo 0 >"$health/green-5xx"
wait_s=$((61 - $(date +%s) % 60))
say "  waiting ${wait_s}s for the next minute"
sleep "$wait_s"
watch dns dns-rollout
apply dns-rollout -var-file="$demo/phases/4-dns-rollout.tfvars"
must_succeed
watched_report pair:100/0 pair:90/10 pair:50/50 pair:0/100
health_only 200
show --dns pair:0/100 --alb canary:0/100

say "" "terraform destroy: the switch (on_destroy = \"collapse\") leaves one simple record for the new ALB, in one"
say "atomic change; the canary (on_destroy = \"promote\") points the legacy listener's default action at ECS, for"
say "clients with stale DNS answers, then removes its rules."
watch dns collapse
tf destroy destroy -auto-approve -var-file="$demo/phases/4-dns-rollout.tfvars"
must_succeed
watched_report pair:0/100 simple:new --no-gap
show --dns simple:new --alb promoted
[[ -z "$(cd "$work" && "$TF" state list)" ]] || fail "terraform state is not empty after destroy"
ok "terraform state is empty: the provider no longer manages anything"

say "" "Retire blue: nothing routes to the legacy ALB or the EC2 fleet any more, so they can go."
aws retire "$logs/stack.json" || fail "the legacy stack is still in use"
show --dns simple:new
phase_done "DNS -> 100%; one record for green; legacy deleted"
