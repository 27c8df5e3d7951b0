#!/usr/bin/env bash
# Fetch a Debian kernel image package into the ignored lab cache and unpack it:
#   .lab/kernels/<package>/vmlinuz       the bootable bzImage
#   .lab/kernels/<package>/vmlinux       the ELF kernel, decompressed from vmlinuz's payload
#   .lab/kernels/<package>/config        the build config
#   .lab/kernels/<package>/modules/      lib/modules/<release>/
# Usage: scripts/fetch-kernel.sh [ABI] [FLAVOR]     a 6.1 kernel (defaults: the pinned ABI and flavor)
#        scripts/fetch-kernel.sh linux-image-...    any versioned image package Debian serves, e.g.
#                                                   linux-image-6.12.118+deb12-amd64-unsigned
# FLAVOR is amd64, cloud-amd64 or rt-amd64. Prints the kernel directory. Idempotent.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lab.env
. "$root/scripts/lab.env"
if [[ "${1:-}" == linux-image-* ]]; then
  pkg=$1
  [[ "$pkg" =~ ^linux-image-[0-9][a-z0-9.+~-]*$ ]] || { echo "fetch-kernel: '$pkg' is not a Debian package name" >&2; exit 2; }
else
  abi=${1:-$VMSIGHT_KERNEL_ABI}
  flavor=${2:-$VMSIGHT_KERNEL_FLAVOR}
  case "$flavor" in amd64|cloud-amd64|rt-amd64) ;; *)
    echo "fetch-kernel: unknown flavor '$flavor' (expected amd64, cloud-amd64 or rt-amd64)" >&2; exit 2;;
  esac
  [[ "$abi" =~ ^[0-9]+$ ]] || { echo "fetch-kernel: ABI must be a number like 56, not '$abi'" >&2; exit 2; }
  pkg="linux-image-6.1.0-$abi-$flavor"
fi
dir="$root/.lab/kernels/$pkg"
if [ -f "$dir/vmlinux" ] && [ -f "$dir/vmlinuz" ]; then echo "$dir"; exit 0; fi

mkdir -p "$root/.lab/cache" "$dir"
cd "$root/.lab/cache"
if ! ls "${pkg}"_*.deb >/dev/null 2>&1; then
  if ! apt-get download "$pkg" >/dev/null 2>"$root/.lab/cache/$pkg.err"; then
    echo "fetch-kernel: Debian serves no package '$pkg' (see 'apt-cache search linux-image-6.'); apt said: $(tail -1 "$root/.lab/cache/$pkg.err")" >&2
    rm -rf "$dir"; exit 2
  fi
fi
deb=$(ls "${pkg}"_*.deb | head -1)
tmp=$(mktemp -d "$root/.lab/cache/unpack.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
dpkg-deb -x "$deb" "$tmp"
ls "$tmp"/boot/vmlinuz-* >/dev/null 2>&1 || { echo "fetch-kernel: $deb holds no /boot/vmlinuz-* (a metapackage or a signed-image template? name the versioned image package)" >&2; rm -rf "$dir"; exit 2; }
cp "$tmp"/boot/vmlinuz-* "$dir/vmlinuz"
cp "$tmp"/boot/config-* "$dir/config"
rm -rf "$dir/modules"; mv "$tmp"/lib/modules/* "$dir/modules"
# The bzImage carries a compressed payload: xz for amd64 (CONFIG_KERNEL_XZ), lz4 for cloud-amd64
# (CONFIG_KERNEL_LZ4, legacy frame). Decompress from the first magic that yields an ELF.
extracted=
for format in 'xz:\xFD7zXZ\x00' 'lz4:\x02\x21\x4C\x18' 'zstd:\x28\xB5\x2F\xFD'; do
  tool=${format%%:*}
  off=$(LC_ALL=C grep -obUaP "${format#*:}" "$dir/vmlinuz" | head -1 | cut -d: -f1 || true)
  [ -n "$off" ] || continue
  command -v "$tool" >/dev/null || { echo "fetch-kernel: $deb's vmlinuz is $tool-compressed and '$tool' is missing (run scripts/setup.sh)" >&2; exit 2; }
  # Trailing bytes after the payload make the decompressor complain; the ELF check decides.
  tail -c +"$((off + 1))" "$dir/vmlinuz" | "$tool" -dc 2>/dev/null > "$dir/vmlinux.part" || true
  if head -c 4 "$dir/vmlinux.part" | grep -q 'ELF'; then extracted=$tool; break; fi
done
[ -n "$extracted" ] || { echo "fetch-kernel: found no xz, lz4 or zstd payload that decompresses to an ELF in $deb's vmlinuz" >&2; exit 2; }
mv "$dir/vmlinux.part" "$dir/vmlinux"
echo "$dir"
