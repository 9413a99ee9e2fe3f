#!/usr/bin/env bash
# Release builds of terraform-provider-bluegreen, in the layout the Terraform registry and the provider mirrors use.
#
#   tools/release/release.sh build     the host's release build (target/release), what `make build` runs
#   tools/release/release.sh release   `make release`: build every platform of PLATFORMS and write dist/:
#       terraform-provider-bluegreen_<V>_<os>_<arch>.zip   holding terraform-provider-bluegreen_v<V>[.exe]
#       terraform-provider-bluegreen_<V>_manifest.json     protocol 6.0
#       terraform-provider-bluegreen_<V>_SHA256SUMS        the zips and the manifest
#       terraform-provider-bluegreen_<V>_SHA256SUMS.sig    detached GPG signature, when GPG_KEY names a key
#
# Environment: VERSION (default: the workspace version of Cargo.toml; any other value is refused, since the binary
# reports the Cargo.toml version), PLATFORMS (default: all five, space or comma separated), DIST (default dist/),
# GPG_KEY (a key id gpg knows; GNUPGHOME as usual), SOURCE_DATE_EPOCH (default: the commit time of HEAD).
#
# linux_amd64 is built by cargo itself on an x86_64 Linux host (the same build as `make build`, so the release reuses
# it); every other platform by cargo-zigbuild with Zig as C compiler and linker (tools/release/cross-tools.sh
# installs both from PyPI into .tools/release-venv, once, when a cross platform is asked for).
#
# Reproducible: the same commit gives byte-identical zips. Paths of the checkout, the cargo home and the target
# directory are remapped (rustc --remap-path-prefix, C -ffile-prefix-map), zips are dated SOURCE_DATE_EPOCH with
# fixed attributes (package.py), and Cargo.lock is used as is (--locked). tools/release/repro.sh checks it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
HERE="$ROOT/tools/release"
PROVIDER=terraform-provider-bluegreen
CARGO="${CARGO:-cargo}"
ALL_PLATFORMS="linux_amd64 linux_arm64 darwin_amd64 darwin_arm64 windows_amd64"

say() { echo "release: $*" >&2; }
die() { echo "release: ERROR: $*" >&2; exit 1; }

CARGO_VERSION="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)"
VERSION="${VERSION:-$CARGO_VERSION}"
[[ "$VERSION" == "$CARGO_VERSION" ]] ||
  die "VERSION=$VERSION but Cargo.toml's workspace version is $CARGO_VERSION (the binary reports that one): change [workspace.package] version in Cargo.toml first"
[[ "$VERSION" =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]] || die "VERSION '$VERSION' is not a semantic version"

export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git -C "$ROOT" log -1 --format=%ct 2>/dev/null || echo 315532800)}"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
CARGO_HOME_DIR="${CARGO_HOME:-$HOME/.cargo}"

# rustc applies the last matching --remap-path-prefix, so the target directory (often inside the checkout) comes
# after the checkout. The cargo home holds the registry sources.
remap=("--remap-path-prefix=$ROOT=/build" "--remap-path-prefix=$CARGO_HOME_DIR=/cargo" "--remap-path-prefix=$TARGET_DIR=/target")
export CARGO_ENCODED_RUSTFLAGS="$(IFS=$'\x1f'; echo "${remap[*]}")"
export CFLAGS="-ffile-prefix-map=$ROOT=/build -ffile-prefix-map=$CARGO_HOME_DIR=/cargo -ffile-prefix-map=$TARGET_DIR=/target"
export CXXFLAGS="$CFLAGS"
unset RUSTFLAGS

triple() {
  case "$1" in
    linux_amd64) echo x86_64-unknown-linux-gnu ;;
    linux_arm64) echo aarch64-unknown-linux-gnu ;;
    darwin_amd64) echo x86_64-apple-darwin ;;
    darwin_arm64) echo aarch64-apple-darwin ;;
    windows_amd64) echo x86_64-pc-windows-gnu ;;
    *) die "unknown platform '$1' (known: $ALL_PLATFORMS)" ;;
  esac
}

native() { [[ "$1" == linux_amd64 && "$(uname -s)_$(uname -m)" == Linux_x86_64 ]]; }

# The host build: plain `cargo build --release`, so `make build`, `make install`, `make bench` and the linux_amd64
# release share target/release.
build_host() {
  say "cargo build --release -p $PROVIDER (SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH, paths remapped)"
  "$CARGO" build --release --locked -p "$PROVIDER"
}

# darwin_*: the binary links Apple's Security and CoreFoundation frameworks (security-framework, through
# rustls-native-certs and the AWS SDK's HTTPS client, which read the macOS trust store). Zig ships libSystem's stubs
# but no framework, and no package registry may ship Apple's SDK (its licence forbids redistribution), so a darwin
# build needs SDKROOT naming a macOS SDK (MacOSX.sdk from Xcode or its Command Line Tools, e.g. copied from a Mac or
# on a macOS CI runner: `xcrun --sdk macosx --show-sdk-path`); cargo-zigbuild passes its usr/include, usr/lib and
# System/Library/Frameworks to Zig. Without one, the link fails after the whole compile:
#   error: unable to find system framework "Security". searched paths: none
#   error: unable to find system framework "CoreFoundation". searched paths: none
# so this is checked before anything is built.
check_platform() {
  case "$1" in
    darwin_*)
      [[ -n "${SDKROOT:-}" && -d "${SDKROOT}/System/Library/Frameworks/Security.framework" ]] ||
        die "$1 cannot be built without a macOS SDK: the binary links the Security and CoreFoundation frameworks, which Zig does not ship (the link fails with 'unable to find system framework \"Security\"'). Set SDKROOT to a MacOSX.sdk (Xcode or Command Line Tools, from a Mac), or leave $1 out: PLATFORMS=linux_amd64,linux_arm64,windows_amd64" ;;
  esac
}

# Prints the path of the built binary of platform $1.
build_platform() {
  local p="$1" t
  t="$(triple "$p")"
  if native "$p"; then
    build_host >&2
    echo "$TARGET_DIR/release/$PROVIDER"
    return
  fi
  rustup target list --installed 2>/dev/null | grep -qx "$t" || {
    say "rustup target add $t"
    rustup target add "$t" >&2 || die "rustup target add $t failed: the Rust standard library for $p cannot be installed"
  }
  "$HERE/cross-tools.sh" >&2
  local venv="$ROOT/.tools/release-venv"
  # Windows x86_64: aws-lc-sys assembles .asm files with NASM; without a NASM installed it may use the objects
  # prebuilt by AWS-LC and shipped in the aws-lc-sys crate (the same for every build, so reproducible).
  [[ "$p" == windows_amd64 ]] && export AWS_LC_SYS_PREBUILT_NASM=1
  say "cargo zigbuild --release --target $t"
  PATH="$venv/bin:$PATH" "$venv/bin/cargo-zigbuild" zigbuild --release --locked -p "$PROVIDER" --target "$t" >&2 ||
    die "the $p build failed (cargo zigbuild --target $t); see the errors above"
  case "$p" in
    windows_*) echo "$TARGET_DIR/$t/release/$PROVIDER.exe" ;;
    *) echo "$TARGET_DIR/$t/release/$PROVIDER" ;;
  esac
}

release() {
  local dist="${DIST:-$ROOT/dist}" platforms p bin name
  platforms="$(echo "${PLATFORMS:-$ALL_PLATFORMS}" | tr ',' ' ')"
  for p in $platforms; do triple "$p" >/dev/null; check_platform "$p"; done
  mkdir -p "$dist"
  rm -f "$dist/${PROVIDER}_${VERSION}_"*
  for p in $platforms; do
    bin="$(build_platform "$p")"
    [[ -f "$bin" ]] || die "no binary at $bin after the $p build"
    name="${PROVIDER}_v${VERSION}"
    [[ "$p" == windows_* ]] && name="$name.exe"
    python3 "$HERE/package.py" zip "$bin" "$dist/${PROVIDER}_${VERSION}_${p}.zip" "$name"
    say "$p: $(du -h "$dist/${PROVIDER}_${VERSION}_${p}.zip" | cut -f1) ${PROVIDER}_${VERSION}_${p}.zip ($name)"
  done
  python3 "$HERE/package.py" finish "$dist" "$VERSION"
  local sums="$dist/${PROVIDER}_${VERSION}_SHA256SUMS"
  if [[ -n "${GPG_KEY:-}" ]]; then
    gpg --batch --yes --local-user "$GPG_KEY" --detach-sign --output "$sums.sig" "$sums" ||
      die "gpg could not sign with GPG_KEY=$GPG_KEY"
    gpg --batch --verify "$sums.sig" "$sums" 2>/dev/null || die "the signature of $sums does not verify"
    say "signed $(basename "$sums") with $GPG_KEY"
  else
    say "no GPG_KEY: $(basename "$sums") is not signed"
  fi
  say "wrote $dist:"
  (cd "$dist" && ls -l "${PROVIDER}_${VERSION}_"* | awk '{print "  " $5 "\t" $9}' >&2)
}

case "${1:-}" in
  build) build_host ;;
  release) release ;;
  *) die "usage: tools/release/release.sh build|release" ;;
esac
