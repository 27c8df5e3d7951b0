# Shared by the image builders (build-image.sh, build-security-vm-image.sh); sourced, not run.
# Each builder sets `prog` (its name in error messages) before sourcing this file, then calls
# image_kernel_dir "${1:-}". Everything here writes only into the staging tree it is given.
# shellcheck shell=bash

# A step that fails inside $( ) fails the build too (e.g. a module that does not decompress).
shopt -s inherit_errexit
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
here="$root/guests"
# The environment wins over scripts/lab.env (a test or the matrix picks another kernel).
abi_env=${VMSIGHT_KERNEL_ABI:-}; flavor_env=${VMSIGHT_KERNEL_FLAVOR:-}
# shellcheck source=../scripts/lab.env
. "$root/scripts/lab.env"
VMSIGHT_KERNEL_ABI=${abi_env:-$VMSIGHT_KERNEL_ABI}; VMSIGHT_KERNEL_FLAVOR=${flavor_env:-$VMSIGHT_KERNEL_FLAVOR}

die() { echo "$prog: $*" >&2; exit 2; }

# The unpacked kernel package (the argument, else lab.env's): sets kdir, pkg and out.
image_kernel_dir() {
  kdir=${1:-$root/.lab/kernels/linux-image-6.1.0-$VMSIGHT_KERNEL_ABI-$VMSIGHT_KERNEL_FLAVOR}
  [ -d "$kdir/modules" ] || die "no kernel package unpacked at $kdir (run scripts/fetch-kernel.sh $VMSIGHT_KERNEL_ABI ${VMSIGHT_KERNEL_FLAVOR})"
  kdir=$(cd "$kdir" && pwd)
  pkg=$(basename "$kdir")
  out="$root/.lab/images/$pkg"
}

# Appends to module_files the files of the named modules (paths under kernel/, no .ko), in the
# order given (dependencies first); a module built into this kernel is skipped: nothing to load.
image_module_files() {
  local m f
  for m in "$@"; do
    grep -qx "kernel/$m.ko" "$kdir/modules/modules.builtin" 2>/dev/null && continue
    f=$(ls "$kdir/modules/kernel/$m".ko* 2>/dev/null | head -1 || true)
    [ -n "$f" ] || die "kernel module $m.ko not found under $kdir/modules/kernel (nor built in: modules.builtin)"
    module_files+=("$f")
  done
}

# virtio-serial (the guest agent's and the security VM's ports), dependencies first (LAB-NOTES).
VIRTIO_SERIAL_MODULES=(drivers/virtio/virtio_ring drivers/virtio/virtio drivers/virtio/virtio_pci_modern_dev
                       drivers/virtio/virtio_pci_legacy_dev drivers/virtio/virtio_pci drivers/char/virtio_console)

# One build at a time (test JVMs and CLI runs may start builders together).
image_lock() {
  mkdir -p "$root/.lab"
  exec 9>"$root/.lab/build-image.lock"
  flock -w 600 9 || die "another image build has held $root/.lab/build-image.lock for 10 minutes"
}

# The static busybox of busybox-static: both images' userland. Sets busybox.
image_require_busybox() {
  busybox=/bin/busybox
  [ -x "$busybox" ] || die "$busybox is missing (apt-get install busybox-static)"
  ldd "$busybox" >/dev/null 2>&1 && die "$busybox is dynamically linked; the image needs busybox-static"
  return 0
}

# busybox as /bin/busybox with a link for every applet: what `busybox --install -s` does, done at
# build time so /init can use plain applet names.
image_install_busybox() {
  local staging=$1 applet
  cp "$busybox" "$staging/bin/busybox"
  for applet in $("$busybox" --list-full); do
    [ -e "$staging/$applet" ] || ln -s /bin/busybox "$staging/$applet"
  done
}

# Installs one module file uncompressed under the staging tree's /lib/modules; prints its path
# relative to /lib/modules.
image_install_module() {
  local staging=$1 f=$2 rel
  rel=${f#"$kdir/modules/"}
  mkdir -p "$staging/lib/modules/$(dirname "$rel")"
  case "$f" in
    *.ko.xz) xz -dc "$f" > "$staging/lib/modules/${rel%.xz}"; rel=${rel%.xz} ;;
    *.ko.zst) zstd -qdc "$f" > "$staging/lib/modules/${rel%.zst}"; rel=${rel%.zst} ;;
    *) cp "$f" "$staging/lib/modules/$rel" ;;
  esac
  echo "$rel"
}

# module_files into the staging tree, listed in load order in /etc/vmsight/modules.order.
image_install_modules() {
  local staging=$1 f
  : > "$staging/etc/vmsight/modules.order"
  for f in "${module_files[@]}"; do
    image_install_module "$staging" "$f" >> "$staging/etc/vmsight/modules.order"
  done
}

# The shared libraries the given ELF files need and the dynamic loader (ldd), copied from this
# machine to the same paths in the staging tree (files already in the tree are skipped).
image_install_shared_libs() {
  local staging=$1 elf lib; shift
  local first=$1
  for elf in "$@"; do
    ldd "$elf" | awk '/=> \// { print $3 } /^[[:space:]]*\// { print $1 }'
  done | sort -u | while read -r lib; do
    case "$lib" in "$staging"*) continue ;; esac
    mkdir -p "$staging$(dirname "$lib")"
    cp -L "$lib" "$staging$lib"
  done
  [ -e "$staging/lib64/ld-linux-x86-64.so.2" ] || die "ldd did not name the dynamic loader of $first"
}

# The staging tree as a reproducible gzipped newc archive (sorted names, owner root, no gzip time).
image_write_cpio() {
  local staging=$1 image=$2
  (cd "$staging" && find . -print0 | LC_ALL=C sort -z | cpio -o -0 -H newc -R 0:0 --quiet) \
    | gzip -n -6 > "$image.part"
  mv "$image.part" "$image"
}
