#!/usr/bin/env bash
# Proves that a release installs the way a team installs it: real Terraform, no dev overrides.
#
#   tools/with-localstack.sh release-check tools/release/check.sh      (make release-test / make release-check)
#
# 1. `make release` into target/release-check/dist for PLATFORMS (default: all five; without SDKROOT, all but the
#    two darwin ones), signed with a throwaway GPG key made here (GNUPGHOME in the work directory), then
#    `make mirror` of it.
# 2. The bundle itself: every zip holds exactly terraform-provider-bluegreen_v<V>[.exe]; SHA256SUMS verifies and
#    its signature too; the manifest says protocol 6.0; the host's binary reports <V>.
# 3. For each Terraform of TERRAFORMS (default: 1.0.3 and 1.15.5), each in a fresh directory and CLI configuration:
#    - `terraform init` from the packed filesystem mirror: the lock file's h1: is the mirror's;
#    - `terraform init` from the network mirror served over HTTPS on 127.0.0.1 (a CA made here, trusted through
#      SSL_CERT_FILE): the same h1:; a mirror whose hashes do not match the zips must make init fail;
#    - `terraform init` from a registry (the provider registry protocol, served from the same HTTPS server; a
#      `host` block sends registry.terraform.io's provider service there): Terraform checks the signature of
#      SHA256SUMS and records one zh: per SHA256SUMS line (the zips and the manifest), besides the h1:;
#    - `terraform providers lock -fs-mirror=… -platform=…` for every built platform: one h1: per platform, each the
#      mirror's;
#    - `terraform plan` with the installed provider against LocalStack (AWS_ENDPOINT_URL): it reads a hosted zone
#      made here and shows its id.
# Any difference fails the check (exit 1) with what differed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
HERE="$ROOT/tools/release"
PROVIDER=terraform-provider-bluegreen
ADDR="registry.terraform.io/cutover/bluegreen"
VERSION="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)"
# Default: all five, less the darwin ones when no macOS SDK is named (SDKROOT; see release.sh: they cannot be linked
# without one), which is said below.
DEFAULT_PLATFORMS="linux_amd64 linux_arm64 darwin_amd64 darwin_arm64 windows_amd64"
if [[ -z "${PLATFORMS:-}" && ! -d "${SDKROOT:-/nonexistent}/System/Library/Frameworks/Security.framework" ]]; then
  DEFAULT_PLATFORMS="linux_amd64 linux_arm64 windows_amd64"
  echo "release-check: darwin_amd64 and darwin_arm64 left out: no macOS SDK (SDKROOT) to link them with (tools/release/release.sh)"
fi
PLATFORMS="$(echo "${PLATFORMS:-$DEFAULT_PLATFORMS}" | tr ',' ' ')"
TERRAFORMS="${TERRAFORMS:-1.0.3 1.15.5}"
WORK="${RELEASE_CHECK_DIR:-$ROOT/target/release-check}"
PY="$ROOT/.tools/venv/bin/python"
FAILS=0

say() { echo "release-check: $*"; }
fail() { echo "release-check: FAIL: $*" >&2; FAILS=$((FAILS + 1)); }
die() { echo "release-check: ERROR: $*" >&2; exit 1; }
[[ " $PLATFORMS " == *" linux_amd64 "* ]] || die "PLATFORMS must include linux_amd64, the platform Terraform runs on here"
[[ -n "${AWS_ENDPOINT_URL:-}" ]] || die "AWS_ENDPOINT_URL is not set: run under tools/with-localstack.sh"

rm -rf "$WORK"
mkdir -p "$WORK"
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}"   # release.sh's default, for the re-zip below
DIST="$WORK/dist"
MIRROR="$WORK/mirror"
SERVER_PID=""
cleanup() { [[ -n "$SERVER_PID" ]] && kill "$SERVER_PID" 2>/dev/null || true; }
trap cleanup EXIT

# 1. A throwaway signing key (RSA: Terraform 1.0.3's OpenPGP library has no Ed25519), the release and the mirror.
export GNUPGHOME="$WORK/gnupg"
mkdir -m 700 "$GNUPGHOME"
gpg --batch --quiet --passphrase '' --quick-gen-key "bluegreen release check <release-check@example.invalid>" rsa2048 sign 1d 2>/dev/null
FPR="$(gpg --batch --list-keys --with-colons | awk -F: '$1 == "fpr" {print $10; exit}')"
KEY_ID="${FPR: -16}"
say "throwaway signing key $KEY_ID"
DIST="$DIST" PLATFORMS="$PLATFORMS" GPG_KEY="$FPR" "$HERE/release.sh" release
python3 "$HERE/mirror.py" "$DIST" "$VERSION" "$MIRROR"
NET="$MIRROR/net/$ADDR"
SUMS="$DIST/${PROVIDER}_${VERSION}_SHA256SUMS"

# 2. The bundle.
(cd "$DIST" && sha256sum --quiet -c "$(basename "$SUMS")") || fail "SHA256SUMS does not verify"
gpg --batch --verify "$SUMS.sig" "$SUMS" 2>/dev/null || fail "SHA256SUMS.sig does not verify"
manifest="$(cat "$DIST/${PROVIDER}_${VERSION}_manifest.json")"
python3 -c 'import json,sys; d=json.loads(sys.argv[1]); sys.exit(d != {"version": 1, "metadata": {"protocol_versions": ["6.0"]}})' "$manifest" ||
  fail "manifest is not protocol 6.0: $manifest"
for p in $PLATFORMS; do
  want="${PROVIDER}_v${VERSION}"
  [[ "$p" == windows_* ]] && want="$want.exe"
  got="$(python3 -c 'import sys, zipfile; print(" ".join(zipfile.ZipFile(sys.argv[1]).namelist()))' "$DIST/${PROVIDER}_${VERSION}_$p.zip")"
  [[ "$got" == "$want" ]] || fail "$p zip holds '$got', not '$want'"
  grep -q "  ${PROVIDER}_${VERSION}_$p.zip\$" "$SUMS" || fail "$p zip is not in SHA256SUMS"
done
[[ "$(grep -c '\.zip$' "$SUMS")" == "$(wc -w <<<"$PLATFORMS")" ]] || fail "SHA256SUMS lists other zips than $PLATFORMS"
mkdir -p "$WORK/unpacked"
python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$DIST/${PROVIDER}_${VERSION}_linux_amd64.zip" "$WORK/unpacked"
chmod +x "$WORK/unpacked/${PROVIDER}_v${VERSION}"
reported="$("$WORK/unpacked/${PROVIDER}_v${VERSION}" --version)"
[[ "$reported" == "$PROVIDER $VERSION" ]] || fail "the linux_amd64 binary reports '$reported', not '$PROVIDER $VERSION'"
# Zipping is deterministic: the unpacked binary (a new file, another mtime), zipped again under another time zone and
# umask, gives the same bytes. (That the binaries themselves are the same from build to build: repro.sh.)
(umask 077; TZ=Pacific/Kiritimati python3 "$HERE/package.py" zip "$WORK/unpacked/${PROVIDER}_v${VERSION}" "$WORK/rezipped.zip" "${PROVIDER}_v${VERSION}")
cmp -s "$WORK/rezipped.zip" "$DIST/${PROVIDER}_${VERSION}_linux_amd64.zip" || fail "zipping the same binary again gives other bytes"
say "bundle: $(wc -w <<<"$PLATFORMS") zip(s); checked SHA256SUMS, its signature, the manifest (6.0), the binary's --version ($VERSION), the re-zip"

# h1 and zh of each platform, from the network mirror's VERSION.json.
mirror_hash() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print([h for h in d["archives"][sys.argv[2]]["hashes"] if h.startswith(sys.argv[3])][0])' "$NET/$VERSION.json" "$1" "$2"; }
# The hashes of the lock file in $1 (sorted, one a line).
lock_hashes() { sed -n 's/^ *"\(\(h1\|zh\):[^"]*\)",\?$/\1/p' "$1/.terraform.lock.hcl" | LC_ALL=C sort; }
HOST_PLATFORM=linux_amd64

# 3. A test CA and a server certificate for 127.0.0.1; one HTTPS server for the network mirror and the registry.
TLS="$WORK/tls"
mkdir -p "$TLS"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj "/CN=bluegreen release-check CA" \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign -keyout "$TLS/ca.key" -out "$TLS/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=127.0.0.1" -keyout "$TLS/server.key" -out "$TLS/server.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' > "$TLS/ext"
openssl x509 -req -in "$TLS/server.csr" -CA "$TLS/ca.pem" -CAkey "$TLS/ca.key" -CAcreateserial -days 1 -out "$TLS/server.pem" \
  -extfile "$TLS/ext" 2>/dev/null
WWW="$WORK/www"
mkdir -p "$WWW"
cp -r "$MIRROR/net" "$WWW/mirror"
# A copy of the network mirror whose hashes are wrong (those of an empty file; Terraform accepts a zip that matches
# any one of them): init must refuse it.
cp -r "$MIRROR/net" "$WWW/badmirror"
sed -i -e 's/"h1:[^"]*"/"h1:47DEQpj8HBSa+\/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="/' \
  -e 's/"zh:[^"]*"/"zh:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"/' "$WWW/badmirror/$ADDR/$VERSION.json"
python3 "$HERE/serve_https.py" "$WWW" "$TLS/server.pem" "$TLS/server.key" "$WORK/port" 2>"$WORK/https.log" &
SERVER_PID=$!
for _ in $(seq 100); do [[ -s "$WORK/port" ]] && break; sleep 0.1; done
[[ -s "$WORK/port" ]] || die "the HTTPS server did not start: $(cat "$WORK/https.log")"
BASE="https://127.0.0.1:$(cat "$WORK/port")"
export SSL_CERT_FILE="$TLS/ca.pem"
say "HTTPS server on $BASE (CA $TLS/ca.pem through SSL_CERT_FILE)"

# The provider registry protocol, as static files: discovery is forced by the CLI configuration's host block.
REG="$WWW/v1/providers/cutover/bluegreen"
mkdir -p "$REG" "$WWW/dl"
cp "$DIST"/* "$WWW/dl/"
python3 - "$REG" "$VERSION" "$BASE" "$DIST" "$KEY_ID" "$(gpg --batch --armor --export "$FPR")" $PLATFORMS <<'EOF'
import json, os, sys
reg, version, base, dist, key_id, armor, *platforms = sys.argv[1:]
prefix = f"terraform-provider-bluegreen_{version}"
sums = dict(reversed(l.split()) for l in open(os.path.join(dist, prefix + "_SHA256SUMS")))
def pair(p): return dict(zip(("os", "arch"), p.split("_")))
with open(os.path.join(reg, "versions"), "w") as f:
    json.dump({"versions": [{"version": version, "protocols": ["6.0"], "platforms": [pair(p) for p in platforms]}]}, f)
for p in platforms:
    os_, arch = p.split("_")
    d = os.path.join(reg, version, "download", os_, arch)
    os.makedirs(d)
    name = f"{prefix}_{p}.zip"
    with open(os.path.join(d, "index.json"), "w") as f:
        json.dump({"protocols": ["6.0"], "os": os_, "arch": arch, "filename": name,
                   "download_url": f"{base}/dl/{name}", "shasums_url": f"{base}/dl/{prefix}_SHA256SUMS",
                   "shasums_signature_url": f"{base}/dl/{prefix}_SHA256SUMS.sig", "shasum": sums[name],
                   "signing_keys": {"gpg_public_keys": [{"key_id": key_id, "ascii_armor": armor}]}}, f)
EOF

# A zone for the plan to read.
ZONE_NAME="release-check-$$.example.com"
ZONE_ID="$("$PY" - "$AWS_ENDPOINT_URL" "$ZONE_NAME" <<'EOF'
import sys, time, boto3
r53 = boto3.client("route53", endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
zone = r53.create_hosted_zone(Name=sys.argv[2], CallerReference=str(time.time()))["HostedZone"]["Id"]
print(zone.rsplit("/", 1)[-1])
EOF
)"
say "LocalStack at $AWS_ENDPOINT_URL, zone $ZONE_NAME = $ZONE_ID"

# A working directory with a fresh CLI configuration ($2: its provider_installation body and any host block).
workdir() {
  local dir="$WORK/tf/$1"
  mkdir -p "$dir"
  printf '%s\n' "$2" > "$dir/cli.tfrc"
  cat > "$dir/main.tf" <<EOF
terraform {
  required_providers {
    bluegreen = {
      source  = "cutover/bluegreen"
      version = "$VERSION"
    }
  }
}

provider "bluegreen" {
  region     = "us-east-1"
  access_key = "test"
  secret_key = "test"
}

data "bluegreen_hosted_zone" "main" {
  name = "$ZONE_NAME"
}

output "zone_id" {
  value = data.bluegreen_hosted_zone.main.zone_id
}
EOF
  echo "$dir"
}
# Runs terraform $TF in directory $1 with its CLI configuration; output in $1/<command>.log.
tf() {
  local dir="$1"
  shift
  (cd "$dir" && TF_CLI_CONFIG_FILE="$dir/cli.tfrc" TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1 TF_PLUGIN_CACHE_DIR= \
    "$TFBIN" "$@" -no-color > "$dir/$1.log" 2>&1)
}

for v in $TERRAFORMS; do
  TFBIN="$ROOT/.tools/bin/terraform-$v"
  [[ -x "$TFBIN" ]] || die "no $TFBIN (make tools)"
  want_h1="$(mirror_hash "$HOST_PLATFORM" h1:)"

  d="$(workdir "$v-fs" "provider_installation {
  filesystem_mirror {
    path    = \"$MIRROR/fs\"
    include = [\"$ADDR\"]
  }
}")"
  if tf "$d" init; then
    [[ "$(lock_hashes "$d")" == "$want_h1" ]] || fail "$v filesystem mirror: lock file hashes '$(lock_hashes "$d" | xargs)', want $want_h1"
    grep -q "Installed cutover/bluegreen v$VERSION" "$d/init.log" || fail "$v filesystem mirror: init did not install v$VERSION"
    say "$v: init from the filesystem mirror: lock file $want_h1"
  else
    fail "$v: init from the filesystem mirror failed: $(tail -5 "$d/init.log")"
  fi

  d="$(workdir "$v-net" "provider_installation {
  network_mirror {
    url     = \"$BASE/mirror/\"
    include = [\"$ADDR\"]
  }
}")"
  if tf "$d" init; then
    [[ "$(lock_hashes "$d")" == "$want_h1" ]] || fail "$v network mirror: lock file hashes '$(lock_hashes "$d" | xargs)', want $want_h1"
    say "$v: init from the network mirror: lock file $want_h1"
    if tf "$d" plan -input=false; then
      grep -q "\"$ZONE_ID\"" "$d/plan.log" || fail "$v: the plan does not show zone id $ZONE_ID: $(tail -8 "$d/plan.log")"
      say "$v: plan against LocalStack with the installed provider: zone_id = \"$ZONE_ID\""
    else
      fail "$v: plan failed: $(tail -8 "$d/plan.log")"
    fi
  else
    fail "$v: init from the network mirror failed: $(tail -5 "$d/init.log")"
  fi

  d="$(workdir "$v-badnet" "provider_installation {
  network_mirror {
    url = \"$BASE/badmirror/\"
  }
}")"
  if tf "$d" init; then
    fail "$v: init accepted a network mirror whose h1: does not match the zip"
  else
    grep -qi "checksum\|doesn't match\|does not match" "$d/init.log" || fail "$v: init from the bad mirror failed for another reason: $(tail -5 "$d/init.log")"
    say "$v: init from a mirror with wrong hashes: refused ($(grep -o "match the any of the expected checksums\|checksum[^.]*" "$d/init.log" | head -1))"
  fi

  d="$(workdir "$v-registry" "host \"registry.terraform.io\" {
  services = {
    \"providers.v1\" = \"$BASE/v1/providers/\"
  }
}
provider_installation {
  direct {}
}")"
  if tf "$d" init; then
    want="$( { echo "$want_h1"; sed -n 's/^\([0-9a-f]\{64\}\)  .*$/zh:\1/p' "$SUMS"; } | LC_ALL=C sort)"
    [[ "$(lock_hashes "$d")" == "$want" ]] ||
      fail "$v registry: lock file hashes '$(lock_hashes "$d" | xargs)', want '$(echo $want)'"
    grep -q "Installed cutover/bluegreen v$VERSION (self-signed, key ID $KEY_ID)" "$d/init.log" ||
      fail "$v registry: init did not check the signature of key $KEY_ID: $(grep -i installed "$d/init.log")"
    say "$v: init from the registry: self-signed, key ID $KEY_ID; lock file has h1: and $(wc -l < "$SUMS") zh: = the SHA256SUMS lines"
  else
    fail "$v: init from the registry failed: $(tail -5 "$d/init.log")"
  fi

  d="$(workdir "$v-lock" 'provider_installation {
  direct {}
}')"
  args=()
  for p in $PLATFORMS; do args+=("-platform=$p"); done
  if tf "$d" providers lock "-fs-mirror=$MIRROR/fs" "${args[@]}"; then
    want="$(for p in $PLATFORMS; do mirror_hash "$p" h1:; done | LC_ALL=C sort -u)"
    [[ "$(lock_hashes "$d")" == "$want" ]] || fail "$v providers lock: lock file hashes '$(lock_hashes "$d" | xargs)', want '$(echo $want)'"
    say "$v: providers lock -fs-mirror for $(wc -w <<<"$PLATFORMS") platform(s): one h1: each, the mirror's"
  else
    fail "$v: providers lock failed: $(tail -5 "$d/providers.log")"
  fi
done

if ((FAILS > 0)); then
  echo "release-check: $FAILS check(s) failed (logs in $WORK/tf/)" >&2
  exit 1
fi
say "all checks passed ($(wc -w <<<"$PLATFORMS") platform(s); Terraform $TERRAFORMS)"
