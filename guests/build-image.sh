#!/usr/bin/env bash
# Build the vmsight lab guest image for one Debian kernel package:
#   .lab/training/bin/<program>                 the six training programs + workload (static, non-PIE)
#   .lab/training/symbols.tsv                   "<program>\t<symbol>\t0x<address>" for the marks
#   .lab/images/<package>/initramfs.cpio.gz     busybox, virtio-serial modules (nls ones where virtio is built in), qemu-ga, /training, /init
#   .lab/images/<package>/inputs.sha256         what the image was built from (rebuilds only on change)
# Usage: guests/build-image.sh [KERNEL_DIR]
#   KERNEL_DIR defaults to .lab/kernels/linux-image-6.1.0-$VMSIGHT_KERNEL_ABI-$VMSIGHT_KERNEL_FLAVOR
#   (scripts/lab.env, overridable from the environment); fetch it first with scripts/fetch-kernel.sh.
# Prints the initramfs path. Idempotent; needs gcc, libc6-dev, busybox-static, qemu-guest-agent,
# cpio, gzip, binutils (nm).
set -euo pipefail
prog=build-image
# shellcheck source=image-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/image-lib.sh"
image_kernel_dir "${1:-}"
training="$root/.lab/training"

for tool in gcc nm cpio gzip sha256sum; do
  command -v "$tool" >/dev/null || die "'$tool' is missing (run scripts/setup.sh)"
done
image_require_busybox
qga=/usr/sbin/qemu-ga
[ -x "$qga" ] || die "$qga is missing (apt-get install qemu-guest-agent)"

# virtio-serial for qemu-ga.
module_files=()
image_module_files "${VIRTIO_SERIAL_MODULES[@]}"
# A kernel with all of virtio built in (6.12) would load no module at all, and lsmod and
# getdrvfile would have nothing to list or find: such an image loads three small modules
# without dependencies instead, so that training and live checks see a real list.
if [ ${#module_files[@]} -eq 0 ]; then
  image_module_files fs/nls/nls_ascii fs/nls/nls_utf8 fs/nls/nls_iso8859-1
fi

# qemu_fw_cfg hands the kernel's VMCOREINFO to QEMU's vmcoreinfo device, so that a dump carries
# it (drgn and crash open such dumps). Shipped, not loaded at boot: `vmsight lab dump --vmcoreinfo`
# loads it first (a distribution's udev loads it at boot; the lab keeps the module list training saw).
fw_cfg_module=""
if ! grep -qx "kernel/drivers/firmware/qemu_fw_cfg.ko" "$kdir/modules/modules.builtin" 2>/dev/null; then
  fw_cfg_module=$(ls "$kdir/modules/kernel/drivers/firmware/qemu_fw_cfg".ko* 2>/dev/null | head -1 || true)
  [ -n "$fw_cfg_module" ] || die "kernel module qemu_fw_cfg.ko not found under $kdir/modules/kernel/drivers/firmware (nor built in)"
fi

image_lock

programs=(getpid gettime pslist getpsfile lsmod getdrvfile)
sources=("${BASH_SOURCE[0]}" "$here/image-lib.sh" "$here/image/init" "$here/image/workload.c" "$here/training/vmsight_marks.h")
for p in "${programs[@]}"; do sources+=("$here/training/$p.c"); done
stamp=$( { sha256sum "${sources[@]}" "$busybox" "$qga" "${module_files[@]}" ${fw_cfg_module:+"$fw_cfg_module"} | sed "s|$root/||"; gcc --version | head -1; } )

image="$out/initramfs.cpio.gz"
if [ -f "$image" ] && [ -f "$out/inputs.sha256" ] && [ "$(cat "$out/inputs.sha256")" = "$stamp" ] \
   && [ -f "$training/symbols.tsv" ]; then
  echo "$image"; exit 0
fi

# Training programs: static and non-PIE, so their addresses are fixed and the marks are in nm.
mkdir -p "$training/bin"
cflags=(-O2 -g -static -no-pie -fno-pie -Wall -Wextra -Werror)
for p in "${programs[@]}"; do
  gcc "${cflags[@]}" -I"$here/training" -o "$training/bin/$p" "$here/training/$p.c" \
    || die "gcc failed on guests/training/$p.c"
done
gcc "${cflags[@]}" -pthread -o "$training/bin/workload" "$here/image/workload.c" \
  || die "gcc failed on guests/image/workload.c"
symbols_tmp=$(mktemp "$training/symbols.XXXXXX")
for p in "${programs[@]}"; do
  nm "$training/bin/$p" | awk -v prog="$p" '$3 == "vmsight_mark_in" || $3 == "vmsight_mark_out" || $3 == "main" {
      printf "%s\t%s\t0x%s\n", prog, $3, $1 }' >> "$symbols_tmp"
  [ "$(grep -c "^$p	vmsight_mark_" "$symbols_tmp")" = 2 ] || die "$p has no vmsight_mark_in/out symbols (nm)"
done
mv "$symbols_tmp" "$training/symbols.tsv"

# The initramfs tree.
mkdir -p "$out"
staging=$(mktemp -d "$out/staging.XXXXXX")
trap 'rm -rf "$staging"' EXIT
mkdir -p "$staging"/{bin,sbin,usr/bin,usr/sbin,etc/vmsight,lib/modules,proc,sys,dev,run,tmp,var,training}
image_install_busybox "$staging"
install -m 0755 "$here/image/init" "$staging/init"
install -m 0755 "$training/bin/workload" "$staging/bin/workload"
for p in "${programs[@]}"; do install -m 0755 "$training/bin/$p" "$staging/training/$p"; done

image_install_modules "$staging"
: > "$staging/etc/vmsight/fw_cfg.module"   # empty: built in (or nothing to load)
if [ -n "$fw_cfg_module" ]; then
  echo "/lib/modules/$(image_install_module "$staging" "$fw_cfg_module")" > "$staging/etc/vmsight/fw_cfg.module"
fi

# qemu-ga from Debian's package, with its shared libraries and the dynamic loader (ldd).
cp "$qga" "$staging/usr/sbin/qemu-ga"
image_install_shared_libs "$staging" "$qga"
cat > "$staging/etc/vmsight/image.txt" <<INFO
kernel-package $pkg
procs-from-cmdline vmsight.procs
INFO

image_write_cpio "$staging" "$image"
printf '%s\n' "$stamp" > "$out/inputs.sha256"
echo "$image"
