#!/usr/bin/env bash
# Proves the release reproducible: builds it a second time from a copy of the checkout at another path, with another
# target directory (so every absolute path differs), and compares the zips byte for byte with those of DIST.
#
#   tools/release/repro.sh DIST      (make release-check passes target/release-check/dist)
#
# PLATFORMS: the platforms of DIST's SHA256SUMS, or those of them named. The copy holds the files git tracks or would
# track (the working tree, uncommitted edits included) and is dated like the first build (SOURCE_DATE_EPOCH, by
# default the commit time of HEAD, as in release.sh: the first build must have had the same). A second cold build of
# every platform named: as long as the first.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
A="$(cd "${1:?usage: tools/release/repro.sh DIST}" && pwd)"
VERSION="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)"
SUMS="$A/terraform-provider-bluegreen_${VERSION}_SHA256SUMS"
[[ -f "$SUMS" ]] || { echo "repro: no $SUMS" >&2; exit 1; }
IN_SUMS="$(sed -n "s/^.*  terraform-provider-bluegreen_${VERSION}_\(.*\)\.zip\$/\1/p" "$SUMS" | xargs)"
PLATFORMS="$(echo "${PLATFORMS:-$IN_SUMS}" | tr ',' ' ')"
for p in $PLATFORMS; do
  [[ " $IN_SUMS " == *" $p "* ]] || { echo "repro: $p is not in $SUMS (it has: $IN_SUMS)" >&2; exit 1; }
done

WORK="$ROOT/target/repro"
rm -rf "$WORK"
COPY="$WORK/elsewhere/checkout"
mkdir -p "$COPY"
git ls-files -z --cached --others --exclude-standard | tar --null --ignore-failed-read -T - -cf - | tar -xf - -C "$COPY"
ln -s "$ROOT/.tools" "$COPY/.tools"   # the same pinned cross tools (nothing of them lands in a binary)

echo "repro: second build of $PLATFORMS from $COPY, target directory $WORK/target-b" >&2
SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}" CARGO_TARGET_DIR="$WORK/target-b" DIST="$WORK/dist-b" \
  PLATFORMS="$PLATFORMS" "$COPY/tools/release/release.sh" release

status=0
for p in $PLATFORMS; do
  z="terraform-provider-bluegreen_${VERSION}_$p.zip"
  a="$(sha256sum < "$A/$z" | cut -d' ' -f1)"
  b="$(sha256sum < "$WORK/dist-b/$z" | cut -d' ' -f1)"
  if cmp -s "$A/$z" "$WORK/dist-b/$z"; then
    echo "repro: $z identical: first build $a, second build $b"
  else
    echo "repro: FAIL: $z differs between the two builds: first $a, second $b" >&2
    status=1
  fi
done
# With every platform rebuilt, the SHA256SUMS too (with fewer, it lists fewer zips).
if [[ "$PLATFORMS" == "$IN_SUMS" ]]; then
  cmp -s "$SUMS" "$WORK/dist-b/$(basename "$SUMS")" || { echo "repro: FAIL: SHA256SUMS differ" >&2; status=1; }
fi
exit $status
