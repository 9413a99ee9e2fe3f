#!/usr/bin/env bash
# Runs a command with LocalStack: one already running (make localstack-up) is used and left running; otherwise one
# is started here and stopped at the end, also when the command fails or is interrupted. The command sees
# LocalStack's URL in AWS_ENDPOINT_URL. Usage: tools/with-localstack.sh LABEL COMMAND [ARGS...]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
label="$1"
shift
if tools/localstack.sh status >/dev/null 2>&1; then
  echo "$label: using the LocalStack that is already running at $(tools/localstack.sh endpoint) (left running)"
else
  trap 'tools/localstack.sh down' EXIT
  tools/localstack.sh up >/dev/null
fi
AWS_ENDPOINT_URL="$(tools/localstack.sh endpoint)" "$@"
