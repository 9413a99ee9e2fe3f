#!/usr/bin/env bash
# The acceptance-test matrix of `make testacc`: the suites of tests/tests/ against LocalStack, with several real
# Terraform versions (tools/bootstrap.sh installs them in .tools/bin/terraform-<version>):
#   Terraform 1.15.5 (the version most users are moving to)  every suite
#   Terraform 1.0.3  (the oldest version claimed)            every suite
#   Terraform 1.6.6                                          the edit-sequence suite (tests/tests/edits.rs) and every
#                                                            test with `import` in its name
# The test binaries come from the workspace's one debug build (cargo test --workspace --no-run: the same packages, so
# the same features, as `make build-debug` and `make unit`, which runs this crate's own unit and doc tests) and run
# once per version, with BLUEGREEN_TERRAFORM naming the version. ACC_JOBS runs (default 2) go on at once, each
# worker with its own LocalStack instance (LOCALSTACK_INSTANCE=acc-<n>, its own state and TMPDIR); the longest runs
# start first. Every LocalStack started here is stopped at the end, also on failure or Ctrl-C. Each run's output is in
# target/testacc/<version>-<suite>.log; the output of failed runs is printed at the end, with a summary naming the
# Terraform version of every run.
# Every run's AWS calls go through a recording proxy (BLUEGREEN_CALL_LOG=target/testacc/calls); at the end
# tools/check-iam-policy.py derives the IAM actions they needed (target/testacc/iam-actions.txt) and fails on one the
# policy in docs/guides/iam-policy.md does not allow.
# Exit status: 0 iff every run passed and the policy allows every call.
#
# ACC_JOBS=N          runs at once (default 2)
# ACC_THREADS=N       tests at once inside each run (default 4, libtest --test-threads)
# ACC_VERSIONS="..."  only these Terraform versions (default: all three)
# ACC_FULL="..."      the versions that run every suite (default "1.15.5 1.0.3"); the other versions of ACC_VERSIONS
#                     run the edit-sequence suite and the import tests (ACC_FULL=1.6.6: everything on 1.6.6 too)
# ACC_FILTER=...      pass one libtest name filter to every run (e.g. ACC_FILTER=import)
# ACC_SUITES="..."    only these suites (e.g. ACC_SUITES="switch canary"; default: every suite of tests/tests/)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
CARGO="${CARGO:-cargo}"
VPY="$ROOT/.tools/venv/bin/python"
OUT="$ROOT/target/testacc"
JOBS="${ACC_JOBS:-2}"
THREADS="${ACC_THREADS:-4}"
VERSIONS="${ACC_VERSIONS:-1.15.5 1.0.3 1.6.6}"
FULL="${ACC_FULL:-1.15.5 1.0.3}"
FILTER="${ACC_FILTER:-}"
export BLUEGREEN_PROVIDER_DIR="${BLUEGREEN_PROVIDER_DIR:-$ROOT/target/debug}"

say() { echo "testacc: $*"; }
[[ "$JOBS" =~ ^[1-9][0-9]*$ && "$THREADS" =~ ^[1-9][0-9]*$ ]] || { say "ACC_JOBS and ACC_THREADS must be positive integers" >&2; exit 2; }
for v in $VERSIONS; do
  [[ -x "$ROOT/.tools/bin/terraform-$v" ]] || { say "no .tools/bin/terraform-$v (run tools/bootstrap.sh)" >&2; exit 2; }
done

rm -rf "$OUT"
mkdir -p "$OUT"

# 1. The acceptance suites' binaries (tests/tests/<suite>.rs), from cargo's JSON messages. Not `-p
#    bluegreen-acceptance`: that selection resolves other features and would compile most of the tree again.
say "building the acceptance tests (cargo test --workspace --no-run)"
"$CARGO" test --workspace --no-run --message-format=json-render-diagnostics >"$OUT/build.json"
declare -A BIN=()
while read -r name path; do BIN[$name]="$path"; done < <("$VPY" - "$OUT/build.json" "$ROOT/tests/Cargo.toml" <<'EOF'
import json, sys
for line in open(sys.argv[1]):
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["profile"]["test"] \
            and m["manifest_path"] == sys.argv[2] and m["target"]["kind"] == ["test"]:
        print(m["target"]["name"], m["executable"])
EOF
)
(( ${#BIN[@]} > 0 )) || { say "cargo built no acceptance suites (see $OUT/build.json)" >&2; exit 1; }
for s in "${!BIN[@]}"; do [[ -x "${BIN[$s]}" ]] || { say "missing test binary ${BIN[$s]}" >&2; exit 1; }; done

# 2. The runs: "<version> <suite> [libtest filter]", longest first so that two workers finish together (measured in
#    one CI run on 2 busy cores, seconds per run on 1.15.5 / 1.0.3: gates 120/137, aws_side 86/88, edits 53/64,
#    faults 45/56, canary 39/54, switch 30/58, examples 18/17, diagnostics 5/10, bad_input 9/13, the others under 7).
SUITES_BY_LENGTH="gates aws_side edits faults canary switch examples native diagnostics bad_input security proxy logging data_sources schema"
for s in "${!BIN[@]}"; do
  if [[ " $SUITES_BY_LENGTH " != *" $s "* ]]; then SUITES_BY_LENGTH+=" $s"; fi   # a suite added later runs last
done
RUNS=()
is_full() { [[ " $FULL " == *" $1 "* ]]; }
SELECTED="${ACC_SUITES:-}"
selected() { [[ -z "$SELECTED" || " $SELECTED " == *" $1 "* ]]; }
for s in $SUITES_BY_LENGTH; do
  [[ -n "${BIN[$s]:-}" ]] && selected "$s" || continue
  for v in $VERSIONS; do is_full "$v" && RUNS+=("$v $s"); done
done
for v in $VERSIONS; do
  is_full "$v" && continue
  [[ -n "${BIN[edits]:-}" ]] && selected edits && RUNS+=("$v edits")
  # The import tests live in these suites (grep -n 'fn .*import' tests/tests/*.rs).
  for s in switch canary faults; do [[ -n "${BIN[$s]:-}" ]] && selected "$s" && RUNS+=("$v $s import"); done
done
[[ -n "${BIN[edits]:-}" ]] || { say "cargo built no edits suite (tests/tests/edits.rs): the matrix would not edit configurations" >&2; exit 1; }
say "${#RUNS[@]} runs, $JOBS at once, --test-threads=$THREADS each"

# 3. Workers, each with its own LocalStack; every instance started is stopped on exit.
WORKER_PIDS=()
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  for p in "${WORKER_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for w in $(seq 1 "$JOBS"); do LOCALSTACK_INSTANCE="acc-$w" tools/localstack.sh down || true; done
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo 0 >"$OUT/queue.next"
next_run() {   # prints the index of the next run to do, or fails when none is left
  local n
  exec 8>"$OUT/queue.lock"; flock 8
  n="$(cat "$OUT/queue.next")"; echo $((n + 1)) >"$OUT/queue.next"
  exec 8>&-
  (( n < ${#RUNS[@]} )) && echo "$n"
}

CHILD=""
run_one() {   # <index> <endpoint>
  local v s filter log t0 rc=0 result secs
  read -r v s filter <<<"${RUNS[$1]}"
  [[ -n "$FILTER" ]] && filter="$FILTER"
  log="$OUT/$v-$s${filter:+-$filter}.log"
  t0=$(date +%s)
  echo "== terraform $v, suite $s${filter:+, tests matching '$filter'}: ${BIN[$s]} --test-threads=$THREADS" >"$log"
  (cd "$ROOT/tests" && BLUEGREEN_TERRAFORM="$ROOT/.tools/bin/terraform-$v" BLUEGREEN_LOCALSTACK_ENDPOINT="$2" \
    BLUEGREEN_CALL_LOG="$OUT/calls" exec "${BIN[$s]}" --test-threads="$THREADS" ${filter:+"$filter"}) >>"$log" 2>&1 &
  CHILD=$!
  wait "$CHILD" || rc=$?
  CHILD=""
  secs=$(( $(date +%s) - t0 ))
  result="$(grep -E '^test result:' "$log" | tail -n 1 | sed 's/^test result: //')"
  # A filtered run that ran no test at all (the tests were renamed or moved) is a failure, not a pass.
  if (( rc == 0 )) && [[ -n "$filter" && -z "$FILTER" && "$result" =~ ^ok\.\ 0\ passed ]]; then rc=1; result="no test matched: $result"; fi
  if (( rc == 0 )); then
    echo "ok $v $s${filter:+ ($filter)} ${secs}s ${result:-}" >>"$OUT/results"
    say "terraform $v $s${filter:+ ($filter)}: ok in ${secs}s: ${result:-no test result line}"
  else
    echo "FAILED $v $s${filter:+ ($filter)} ${secs}s ${result:-exit $rc}" >>"$OUT/results"
    echo "$log" >>"$OUT/failed"
    say "terraform $v $s${filter:+ ($filter)}: FAILED (exit $rc) in ${secs}s: ${result:-no test result line}; log: $log"
  fi
}

worker() {   # <n>
  local endpoint i
  trap - EXIT INT
  trap '[[ -n "$CHILD" ]] && kill -TERM "$CHILD" 2>/dev/null; exit 143' TERM
  endpoint="$(LOCALSTACK_INSTANCE="acc-$1" tools/localstack.sh up 2>"$OUT/localstack-acc-$1.log")" || {
    cat "$OUT/localstack-acc-$1.log" >&2
    echo "FAILED - LocalStack-acc-$1 0s did not start" >>"$OUT/results"
    say "worker $1: LocalStack did not start"
    return 1
  }
  while i="$(next_run)"; do run_one "$i" "$endpoint"; done
}

T0=$(date +%s)
touch "$OUT/results"
rm -f "$OUT/failed"
for w in $(seq 1 "$JOBS"); do worker "$w" & WORKER_PIDS+=($!); done
for p in "${WORKER_PIDS[@]}"; do wait "$p" || true; done
WORKER_PIDS=()

# 4. Failed runs' output, then the summary (every run, its Terraform version, its time).
FAILED="$(grep -c '^FAILED' "$OUT/results" || true)"
if [[ -f "$OUT/failed" ]]; then
  while read -r f; do
    echo; echo "---------------------------------------- $(basename "$f" .log) (FAILED)"; cat "$f"
  done <"$OUT/failed"
fi
echo
say "summary ($(( $(date +%s) - T0 ))s wall, $JOBS at once):"
sort -k2,2 -k3,3 "$OUT/results" | sed 's/^/  /'
DONE=$(wc -l <"$OUT/results")
# 5. The IAM policy of docs/guides/iam-policy.md against every call the provider made (recorded by the proxy).
if ! "$VPY" "$ROOT/tools/check-iam-policy.py" "$OUT/calls" "$ROOT/docs/guides/iam-policy.md" "$OUT/iam-actions.txt"; then
  say "the IAM guide's policy does not allow every call the suites made (see above)"
  FAILED=$((FAILED + 1))
fi
if (( FAILED > 0 || DONE < ${#RUNS[@]} )); then
  say "$FAILED of ${#RUNS[@]} runs FAILED$( (( DONE < ${#RUNS[@]} )) && echo ", $(( ${#RUNS[@]} - DONE )) never ran")"
  exit 1
fi
say "all ${#RUNS[@]} runs passed"
