#!/usr/bin/env bash
# Installs the pinned cross-compilation tools of `make release` (requirements-cross.txt) into .tools/release-venv:
# cargo-zigbuild and Zig, from PyPI. Idempotent: a stamp keyed on the requirements file makes a re-run a no-op;
# concurrent runs are serialised with flock. Needs python3 with venv.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
REQ="$ROOT/tools/release/requirements-cross.txt"
VENV="$ROOT/.tools/release-venv"
STAMP="$VENV/cross.stamp"
mkdir -p "$ROOT/.tools"
exec 8>"$ROOT/.tools/release-venv.lock"
flock 8
HASH="$(sha256sum "$REQ" | cut -d' ' -f1)"
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$HASH" && -x "$VENV/bin/cargo-zigbuild" ]]; then
  exit 0
fi
echo "cross-tools: installing cargo-zigbuild and Zig (pinned, tools/release/requirements-cross.txt) into $VENV" >&2
rm -rf "$VENV"
python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check --require-hashes -r "$REQ"
"$VENV/bin/cargo-zigbuild" --version >&2
"$VENV/bin/python" -m ziglang version >&2
echo "$HASH" > "$STAMP"
