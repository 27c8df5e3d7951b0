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
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
here="$root/guests"
abi_env=${VMSIGHT_KERNEL_ABI:-}; flavor_env=${VMSIGHT_KERNEL_FLAVOR:-}
# shellcheck source=../scripts/lab.env
. "$root/scripts/lab.env"
VMSIGHT_KERNEL_ABI=${abi_env:-$VMSIGHT_KERNEL_ABI}; VMSIGHT_KERNEL_FLAVOR=${flavor_env:-$VMSIGHT_KERNEL_FLAVOR}

die() { echo "build-image: $*" >&2; exit 2; }

kdir=${1:-$root/.lab/kernels/linux-image-6.1.0-$VMSIGHT_KERNEL_ABI-$VMSIGHT_KERNEL_FLAVOR}
[ -d "$kdir/modules" ] || die "no kernel package unpacked at $kdir (run scripts/fetch-kernel.sh $VMSIGHT_KERNEL_ABI ${VMSIGHT_KERNEL_FLAVOR})"
kdir=$(cd "$kdir" && pwd)
pkg=$(basename "$kdir")
out="$root/.lab/images/$pkg"
training="$root/.lab/training"

for tool in gcc nm cpio gzip sha256sum; do
  command -v "$tool" >/dev/null || die "'$tool' is missing (run scripts/setup.sh)"
done
busybox=/bin/busybox
[ -x "$busybox" ] || die "$busybox is missing (apt-get install busybox-static)"
ldd "$busybox" >/dev/null 2>&1 && die "$busybox is dynamically linked; the image needs busybox-static"
qga=/usr/sbin/qemu-ga
[ -x "$qga" ] || die "$qga is missing (apt-get install qemu-guest-agent)"

# virtio-serial for qemu-ga, dependencies first (see LAB-NOTES).
modules=(drivers/virtio/virtio_ring drivers/virtio/virtio drivers/virtio/virtio_pci_modern_dev
         drivers/virtio/virtio_pci_legacy_dev drivers/virtio/virtio_pci drivers/char/virtio_console)
module_files=()
for m in "${modules[@]}"; do
  # built into this kernel (another series or flavour): nothing to load
  grep -qx "kernel/$m.ko" "$kdir/modules/modules.builtin" 2>/dev/null && continue
  f=$(ls "$kdir/modules/kernel/$m".ko* 2>/dev/null | head -1 || true)
  [ -n "$f" ] || die "kernel module $m.ko not found under $kdir/modules/kernel (nor built in: modules.builtin)"
  module_files+=("$f")
done
# A kernel with all of virtio built in (6.12) would load no module at all, and lsmod and
# getdrvfile would have nothing to list or find: such an image loads three small modules
# without dependencies instead, so that training and live checks see a real list.
if [ ${#module_files[@]} -eq 0 ]; then
  for m in fs/nls/nls_ascii fs/nls/nls_utf8 fs/nls/nls_iso8859-1; do
    grep -qx "kernel/$m.ko" "$kdir/modules/modules.builtin" 2>/dev/null && continue
    f=$(ls "$kdir/modules/kernel/$m".ko* 2>/dev/null | head -1 || true)
    [ -n "$f" ] || die "kernel module $m.ko not found under $kdir/modules/kernel (nor built in: modules.builtin)"
    module_files+=("$f")
  done
fi

# qemu_fw_cfg hands the kernel's VMCOREINFO to QEMU's vmcoreinfo device, so that a dump carries
# it (drgn and crash open such dumps). Shipped, not loaded at boot: `vmsight lab dump --vmcoreinfo`
# loads it first (a distribution's udev loads it at boot; the lab keeps the module list training saw).
fw_cfg_module=""
if ! grep -qx "kernel/drivers/firmware/qemu_fw_cfg.ko" "$kdir/modules/modules.builtin" 2>/dev/null; then
  fw_cfg_module=$(ls "$kdir/modules/kernel/drivers/firmware/qemu_fw_cfg".ko* 2>/dev/null | head -1 || true)
  [ -n "$fw_cfg_module" ] || die "kernel module qemu_fw_cfg.ko not found under $kdir/modules/kernel/drivers/firmware (nor built in)"
fi

# One build at a time (test JVMs and CLI runs may call this together).
mkdir -p "$root/.lab"
exec 9>"$root/.lab/build-image.lock"
flock -w 600 9 || die "another build-image.sh has held $root/.lab/build-image.lock for 10 minutes"

programs=(getpid gettime pslist getpsfile lsmod getdrvfile)
sources=("${BASH_SOURCE[0]}" "$here/image/init" "$here/image/workload.c" "$here/training/vmsight_marks.h")
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
cp "$busybox" "$staging/bin/busybox"
# What `busybox --install -s` does, done at build time so /init can use plain applet names.
for applet in $("$busybox" --list-full); do
  [ -e "$staging/$applet" ] || ln -s /bin/busybox "$staging/$applet"
done
install -m 0755 "$here/image/init" "$staging/init"
install -m 0755 "$training/bin/workload" "$staging/bin/workload"
for p in "${programs[@]}"; do install -m 0755 "$training/bin/$p" "$staging/training/$p"; done

: > "$staging/etc/vmsight/modules.order"
for f in "${module_files[@]}"; do
  rel=${f#"$kdir/modules/"}
  mkdir -p "$staging/lib/modules/$(dirname "$rel")"
  case "$f" in
    *.ko.xz) xz -dc "$f" > "$staging/lib/modules/${rel%.xz}"; rel=${rel%.xz} ;;
    *.ko.zst) zstd -qdc "$f" > "$staging/lib/modules/${rel%.zst}"; rel=${rel%.zst} ;;
    *) cp "$f" "$staging/lib/modules/$rel" ;;
  esac
  echo "$rel" >> "$staging/etc/vmsight/modules.order"
done
: > "$staging/etc/vmsight/fw_cfg.module"   # empty: built in (or nothing to load)
if [ -n "$fw_cfg_module" ]; then
  rel=${fw_cfg_module#"$kdir/modules/"}
  mkdir -p "$staging/lib/modules/$(dirname "$rel")"
  case "$fw_cfg_module" in
    *.ko.xz) xz -dc "$fw_cfg_module" > "$staging/lib/modules/${rel%.xz}"; rel=${rel%.xz} ;;
    *.ko.zst) zstd -qdc "$fw_cfg_module" > "$staging/lib/modules/${rel%.zst}"; rel=${rel%.zst} ;;
    *) cp "$fw_cfg_module" "$staging/lib/modules/$rel" ;;
  esac
  echo "/lib/modules/$rel" > "$staging/etc/vmsight/fw_cfg.module"
fi

# qemu-ga from Debian's package, with its shared libraries and the dynamic loader (ldd).
cp "$qga" "$staging/usr/sbin/qemu-ga"
ldd "$qga" | awk '/=> \// { print $3 } /^[[:space:]]*\// { print $1 }' | while read -r lib; do
  mkdir -p "$staging$(dirname "$lib")"
  cp -L "$lib" "$staging$lib"
done
[ -e "$staging/lib64/ld-linux-x86-64.so.2" ] || die "ldd did not name the dynamic loader of $qga"
cat > "$staging/etc/vmsight/image.txt" <<INFO
kernel-package $pkg
procs-from-cmdline vmsight.procs
INFO

(cd "$staging" && find . -print0 | LC_ALL=C sort -z | cpio -o -0 -H newc -R 0:0 --quiet) \
  | gzip -n -6 > "$image.part"
mv "$image.part" "$image"
printf '%s\n' "$stamp" > "$out/inputs.sha256"
echo "$image"
