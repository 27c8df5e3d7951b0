#!/usr/bin/env bash
# Fetch the DWARF vmlinux of a lab kernel (Debian's linux-image-<version>-dbg, 858 MB for 6.1.0-56)
# for the peer tools that need it (drgn, crash), extracting only the vmlinux:
#   .lab/kernels/<package>/vmlinux-dbg     the unstripped ELF with DWARF and symbols
# Usage: scripts/fetch-kernel-dbg.sh [ABI] [FLAVOR]   (defaults: the pinned ABI and flavor)
# Prints the file. Idempotent; the .deb is deleted once the vmlinux is out (nothing else is used).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lab.env
. "$root/scripts/lab.env"
abi=${1:-$VMSIGHT_KERNEL_ABI}
flavor=${2:-$VMSIGHT_KERNEL_FLAVOR}
[[ "$abi" =~ ^[0-9]+$ ]] || { echo "fetch-kernel-dbg: ABI must be a number like 56, not '$abi'" >&2; exit 2; }
pkg="linux-image-6.1.0-$abi-$flavor"
dir=$("$root/scripts/fetch-kernel.sh" "$abi" "$flavor")
out="$dir/vmlinux-dbg"
if [ -f "$out" ]; then echo "$out"; exit 0; fi

cache="$root/.lab/cache/dbg"
mkdir -p "$cache"
cd "$cache"
if ! ls "${pkg}-dbg"_*.deb >/dev/null 2>&1; then
  apt-get download "${pkg}-dbg" >/dev/null 2>"$cache/${pkg}-dbg.err" \
    || { echo "fetch-kernel-dbg: apt-get download ${pkg}-dbg failed: $(tail -1 "$cache/${pkg}-dbg.err")" >&2; exit 2; }
fi
deb=$(ls "${pkg}-dbg"_*.deb | head -1)
release=${pkg#linux-image-}
member="./usr/lib/debug/boot/vmlinux-$release"
tmp=$(mktemp -d "$cache/unpack.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# --occurrence: tar stops at the vmlinux instead of reading the modules' debug files after it, so
# dpkg-deb's pipe breaks on purpose; the file decides.
(set +o pipefail; dpkg-deb --fsys-tarfile "$deb" 2>/dev/null | tar -x --occurrence -C "$tmp" "$member") || true
[ -f "$tmp/$member" ] || { echo "fetch-kernel-dbg: $deb holds no $member" >&2; exit 2; }
head -c 4 "$tmp/$member" | grep -q ELF || { echo "fetch-kernel-dbg: $member in $deb is not an ELF file" >&2; exit 2; }
mv "$tmp/$member" "$out"
rm -f "$deb"
echo "$out"
