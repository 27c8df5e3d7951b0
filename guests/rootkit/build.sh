#!/usr/bin/env bash
# Build the lab rootkit (vmsight_hide.ko) against the lab kernel's linux-headers package:
#   .lab/rootkit/<kernel package>/vmsight_hide.ko
# Usage: guests/rootkit/build.sh [ABI [FLAVOR] | linux-image-PACKAGE]   (default: scripts/lab.env's pinned
#        kernel; installs the matching linux-headers package when missing)
# Prints the module path. Idempotent: rebuilds only when the source changed.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
here="$root/guests/rootkit"
abi_env=${VMSIGHT_KERNEL_ABI:-}; flavor_env=${VMSIGHT_KERNEL_FLAVOR:-}
# shellcheck source=../../scripts/lab.env
. "$root/scripts/lab.env"
if [[ "${1:-}" == linux-image-* ]]; then
  pkg=$1; release=${pkg#linux-image-}; release=${release%-unsigned}
else
  abi=${1:-${abi_env:-$VMSIGHT_KERNEL_ABI}}; flavor=${2:-${flavor_env:-$VMSIGHT_KERNEL_FLAVOR}}
  release="6.1.0-$abi-$flavor"; pkg="linux-image-$release"
fi
headers="/usr/src/linux-headers-$release"

die() { echo "rootkit-build: $*" >&2; exit 2; }

if [ ! -f "$headers/Makefile" ]; then
  [ "$(id -u)" = 0 ] || die "$headers is missing; as root: apt-get install linux-headers-$release"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "linux-headers-$release" >&2 \
    || { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "linux-headers-$release" >&2; } \
    || die "apt-get install linux-headers-$release failed"
fi

out="$root/.lab/rootkit/$pkg"
mkdir -p "$out"
stamp=$(sha256sum "$here/vmsight_hide.c" "$here/Kbuild" | sed "s|$root/||"; echo "$release")
if [ -f "$out/vmsight_hide.ko" ] && [ "$(cat "$out/inputs.sha256" 2>/dev/null)" = "$stamp" ]; then
  echo "$out/vmsight_hide.ko"; exit 0
fi
work=$(mktemp -d "$out/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp "$here/vmsight_hide.c" "$here/Kbuild" "$work/"
make -s -C "$headers" M="$work" modules >&2 || die "module build against $headers failed"
strip --strip-debug "$work/vmsight_hide.ko"
mv "$work/vmsight_hide.ko" "$out/vmsight_hide.ko"
printf '%s\n' "$stamp" > "$out/inputs.sha256"
echo "$out/vmsight_hide.ko"
