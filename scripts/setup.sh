#!/usr/bin/env bash
# Install everything the vmsight lab needs on a fresh Debian 12 machine (run as root), fetch the
# pinned Debian kernel and build the guest image. Idempotent: when everything is already there it
# only checks (about a second).
#   scripts/setup.sh
#   VMSIGHT_KERNEL_ABI=55 VMSIGHT_KERNEL_FLAVOR=cloud-amd64 scripts/setup.sh   (another kernel)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
abi_env=${VMSIGHT_KERNEL_ABI:-}; flavor_env=${VMSIGHT_KERNEL_FLAVOR:-}
# shellcheck source=lab.env
. "$root/scripts/lab.env"
abi=${abi_env:-$VMSIGHT_KERNEL_ABI}; flavor=${flavor_env:-$VMSIGHT_KERNEL_FLAVOR}

packages=(
  qemu-system-x86 qemu-utils              # the lab hypervisor (TCG)
  busybox-static                          # the guest's userland
  libvirt-daemon-system libvirt-clients   # the libvirt launcher
  qemu-guest-agent                        # copied into the guest image
  gcc libc6-dev                           # static training programs
  binutils                                # objdump, nm
  dwarves                                 # pahole: the kernel profile of the hand-written walkers (BTF)
  cpio gzip zstd xz-utils lz4             # initramfs, kernel payloads (xz: amd64, lz4: cloud-amd64)
  procps                                  # pgrep (scripts/libvirtd-up.sh)
  "linux-headers-6.1.0-$abi-$flavor"      # the lab rootkit module (guests/rootkit)
  prometheus                              # scrapes the agent's /metrics in its lab test
  python3                                 # QmpClientTest's pseudo-terminal peer; benchmarks/report.py
  openjdk-17-jdk-headless                 # jlink and jmods: the security VM's JRE (guests/build-security-vm-image.sh)
  ca-certificates
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || { echo "setup: packages missing (${missing[*]}) and not root: run scripts/setup.sh as root" >&2; exit 2; }
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >&2 || { echo "setup: apt-get update failed" >&2; exit 2; }
  # With recommends, as on the machines where the lab was checked (libvirt and QEMU firmware extras).
  apt-get install -y -q "${missing[@]}" >&2 \
    || { echo "setup: apt-get install ${missing[*]} failed" >&2; exit 2; }
fi

# fetch-kernel.sh uses apt-get download, which needs package lists (absent on slim images).
pkg="linux-image-6.1.0-$abi-$flavor"
if [ ! -f "$root/.lab/kernels/$pkg/vmlinux" ] && ! apt-cache show "$pkg" >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 || { echo "setup: apt-get update failed" >&2; exit 2; }
fi
"$root/scripts/fetch-kernel.sh" "$abi" "$flavor" >/dev/null
VMSIGHT_KERNEL_ABI=$abi VMSIGHT_KERNEL_FLAVOR=$flavor "$root/guests/build-image.sh" >/dev/null
echo "setup: lab ready (kernel linux-image-6.1.0-$abi-$flavor)" >&2
