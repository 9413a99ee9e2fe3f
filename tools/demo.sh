#!/usr/bin/env bash
# `make demo`: reads a legacy stack in LocalStack through the provider's data sources.
# (The full cutover story arrives with the switch and canary resources.)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
endpoint=$(cat "$root/.tools/localstack/endpoint")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "Creating a legacy stack in LocalStack ($endpoint)"
name="demo$(date +%s | tail -c 6)"
"$root/.tools/venv/bin/python" "$root/tools/fixtures.py" "$name" "$endpoint" > "$work/stack.json"
jq_() { "$root/.tools/venv/bin/python" -c "import json,sys; print(json.load(open('$work/stack.json'))['$1'])"; }

cat > "$work/cli.tfrc" <<CFG
provider_installation {
  dev_overrides { "cutover/bluegreen" = "$root/target/debug" }
  direct {}
}
CFG
cp "$root/examples/data-sources/legacy-stack/main.tf" "$work/"
export TF_CLI_CONFIG_FILE="$work/cli.tfrc" CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1
export AWS_ENDPOINT_URL="$endpoint" AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
export TF_VAR_zone_name="$(jq_ zone_name)" TF_VAR_record_name="$(jq_ record_name)" TF_VAR_legacy_lb_name="$(jq_ legacy_lb_name)"

say "terraform apply: the provider reads the zone, the ALB, its listener and target group, and the record"
(cd "$work" && "$root/.tools/bin/terraform" apply -auto-approve -input=false -no-color)

say "The legacy record as the provider sees it"
(cd "$work" && "$root/.tools/bin/terraform" output -no-color api_record)
