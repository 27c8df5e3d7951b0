#!/usr/bin/env bash
# Build the base image of the vmsight security VM for one Debian kernel package:
#   .lab/images/<package>/security-vm.cpio.gz   busybox, virtio-serial modules, a JRE (jlink of this
#                                                machine's JDK: the modules the agent needs), /init
#   .lab/images/<package>/security-vm.sha256     what it was built from (rebuilds only on change)
# The agent's classes, its bundles and its configuration are not in it: `vmsight lab
# boot-security-vm` appends them per boot as a second cpio archive (the kernel unpacks both).
# Usage: guests/build-security-vm-image.sh [KERNEL_DIR]   (KERNEL_DIR as for build-image.sh)
# Prints the image path. Needs busybox-static, cpio, gzip and a JDK with jlink and jmods
# (openjdk-17-jdk-headless; scripts/setup.sh installs them).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
here="$root/guests"
abi_env=${VMSIGHT_KERNEL_ABI:-}; flavor_env=${VMSIGHT_KERNEL_FLAVOR:-}
# shellcheck source=../scripts/lab.env
. "$root/scripts/lab.env"
VMSIGHT_KERNEL_ABI=${abi_env:-$VMSIGHT_KERNEL_ABI}; VMSIGHT_KERNEL_FLAVOR=${flavor_env:-$VMSIGHT_KERNEL_FLAVOR}

die() { echo "build-security-vm-image: $*" >&2; exit 2; }

kdir=${1:-$root/.lab/kernels/linux-image-6.1.0-$VMSIGHT_KERNEL_ABI-$VMSIGHT_KERNEL_FLAVOR}
[ -d "$kdir/modules" ] || die "no kernel package unpacked at $kdir (run scripts/fetch-kernel.sh $VMSIGHT_KERNEL_ABI ${VMSIGHT_KERNEL_FLAVOR})"
kdir=$(cd "$kdir" && pwd)
pkg=$(basename "$kdir")
out="$root/.lab/images/$pkg"

for tool in cpio gzip sha256sum ldd; do
  command -v "$tool" >/dev/null || die "'$tool' is missing (run scripts/setup.sh)"
done
busybox=/bin/busybox
[ -x "$busybox" ] || die "$busybox is missing (apt-get install busybox-static)"
# The JDK of the java that runs vmsight (JAVA_HOME wins): the VM runs the same Java release.
java_home=${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")}
jlink="$java_home/bin/jlink"
[ -x "$jlink" ] && [ -d "$java_home/jmods" ] \
  || die "no jlink and jmods under $java_home (apt-get install openjdk-17-jdk-headless, or set JAVA_HOME to a JDK)"

# What the agent's classes need of the JDK (jdeps over the CLI's jar): java.desktop only for
# java.beans, so its native libraries (AWT, fonts, sound) are left out below.
jre_modules=java.base,java.desktop,java.sql,jdk.httpserver,jdk.management,jdk.unsupported

modules=(drivers/virtio/virtio_ring drivers/virtio/virtio drivers/virtio/virtio_pci_modern_dev
         drivers/virtio/virtio_pci_legacy_dev drivers/virtio/virtio_pci drivers/char/virtio_console)
module_files=()
for m in "${modules[@]}"; do
  grep -qx "kernel/$m.ko" "$kdir/modules/modules.builtin" 2>/dev/null && continue
  f=$(ls "$kdir/modules/kernel/$m".ko* 2>/dev/null | head -1 || true)
  [ -n "$f" ] || die "kernel module $m.ko not found under $kdir/modules/kernel (nor built in: modules.builtin)"
  module_files+=("$f")
done

mkdir -p "$root/.lab"
exec 9>"$root/.lab/build-image.lock"
flock -w 600 9 || die "another image build has held $root/.lab/build-image.lock for 10 minutes"

stamp=$( { sha256sum "${BASH_SOURCE[0]}" "$here/security-vm/init" "$busybox" "${module_files[@]}" | sed "s|$root/||";
           echo "$jre_modules"; cat "$java_home/release" 2>/dev/null | grep JAVA_RUNTIME_VERSION || "$java_home/bin/java" -version 2>&1; } )
image="$out/security-vm.cpio.gz"
if [ -f "$image" ] && [ -f "$out/security-vm.sha256" ] && [ "$(cat "$out/security-vm.sha256")" = "$stamp" ]; then
  echo "$image"; exit 0
fi

mkdir -p "$out"
staging=$(mktemp -d "$out/secvm-staging.XXXXXX")
trap 'rm -rf "$staging"' EXIT
mkdir -p "$staging"/{bin,sbin,usr/bin,usr/sbin,etc/vmsight,lib/modules,proc,sys,dev,run,tmp,var,opt/vmsight}
cp "$busybox" "$staging/bin/busybox"
for applet in $("$busybox" --list-full); do
  [ -e "$staging/$applet" ] || ln -s /bin/busybox "$staging/$applet"
done
install -m 0755 "$here/security-vm/init" "$staging/init"

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

"$jlink" --add-modules "$jre_modules" --strip-debug --no-man-pages --no-header-files --compress=2 \
  --output "$staging/opt/jre" || die "jlink failed"
# Headless: drop the desktop module's native libraries (and with them X11, ALSA, freetype).
rm -f "$staging"/opt/jre/lib/lib{awt,awt_headless,awt_xawt,fontmanager,javajpeg,jsound,lcms,mlib_image,splashscreen}.so
# The JRE's shared libraries and the dynamic loader (ldd), as for qemu-ga in build-image.sh.
for elf in "$staging/opt/jre/bin/java" "$staging/opt/jre/lib/server/libjvm.so" "$staging"/opt/jre/lib/*.so; do
  ldd "$elf" | awk '/=> \// { print $3 } /^[[:space:]]*\// { print $1 }'
done | sort -u | while read -r lib; do
  case "$lib" in "$staging"*) continue ;; esac
  mkdir -p "$staging$(dirname "$lib")"
  cp -L "$lib" "$staging$lib"
done
[ -e "$staging/lib64/ld-linux-x86-64.so.2" ] || die "ldd did not name the dynamic loader of the JRE"
# Class data sharing: the JRE's own archive, so the JVM starts faster under TCG.
"$staging/opt/jre/bin/java" -Xshare:dump >/dev/null 2>&1 || echo "build-security-vm-image: no CDS archive (java -Xshare:dump failed); the VM starts slower" >&2

(cd "$staging" && find . -print0 | LC_ALL=C sort -z | cpio -o -0 -H newc -R 0:0 --quiet) \
  | gzip -n -6 > "$image.part"
mv "$image.part" "$image"
printf '%s\n' "$stamp" > "$out/security-vm.sha256"
echo "$image"
