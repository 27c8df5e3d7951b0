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
prog=build-security-vm-image
# shellcheck source=image-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/image-lib.sh"
image_kernel_dir "${1:-}"

for tool in cpio gzip sha256sum ldd; do
  command -v "$tool" >/dev/null || die "'$tool' is missing (run scripts/setup.sh)"
done
image_require_busybox
# The JDK of the java that runs vmsight (JAVA_HOME wins): the VM runs the same Java release.
java_home=${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")}
jlink="$java_home/bin/jlink"
[ -x "$jlink" ] && [ -d "$java_home/jmods" ] \
  || die "no jlink and jmods under $java_home (apt-get install openjdk-17-jdk-headless, or set JAVA_HOME to a JDK)"

# What the agent's classes need of the JDK (jdeps over the CLI's jar): java.desktop only for
# java.beans, so its native libraries (AWT, fonts, sound) are left out below.
jre_modules=java.base,java.desktop,java.sql,jdk.httpserver,jdk.management,jdk.unsupported

module_files=()
image_module_files "${VIRTIO_SERIAL_MODULES[@]}"

image_lock

stamp=$( { sha256sum "${BASH_SOURCE[0]}" "$here/image-lib.sh" "$here/security-vm/init" "$busybox" "${module_files[@]}" | sed "s|$root/||";
           echo "$jre_modules"; cat "$java_home/release" 2>/dev/null | grep JAVA_RUNTIME_VERSION || "$java_home/bin/java" -version 2>&1; } )
image="$out/security-vm.cpio.gz"
if [ -f "$image" ] && [ -f "$out/security-vm.sha256" ] && [ "$(cat "$out/security-vm.sha256")" = "$stamp" ]; then
  echo "$image"; exit 0
fi

mkdir -p "$out"
staging=$(mktemp -d "$out/secvm-staging.XXXXXX")
trap 'rm -rf "$staging"' EXIT
mkdir -p "$staging"/{bin,sbin,usr/bin,usr/sbin,etc/vmsight,lib/modules,proc,sys,dev,run,tmp,var,opt/vmsight}
image_install_busybox "$staging"
install -m 0755 "$here/security-vm/init" "$staging/init"
image_install_modules "$staging"

"$jlink" --add-modules "$jre_modules" --strip-debug --no-man-pages --no-header-files --compress=2 \
  --output "$staging/opt/jre" || die "jlink failed"
# Headless: drop the desktop module's native libraries (and with them X11, ALSA, freetype).
rm -f "$staging"/opt/jre/lib/lib{awt,awt_headless,awt_xawt,fontmanager,javajpeg,jsound,lcms,mlib_image,splashscreen}.so
# The JRE's shared libraries and the dynamic loader (ldd), as for qemu-ga in build-image.sh.
image_install_shared_libs "$staging" "$staging/opt/jre/bin/java" "$staging/opt/jre/lib/server/libjvm.so" "$staging"/opt/jre/lib/*.so
# Class data sharing: the JRE's own archive, so the JVM starts faster under TCG.
"$staging/opt/jre/bin/java" -Xshare:dump >/dev/null 2>&1 || echo "build-security-vm-image: no CDS archive (java -Xshare:dump failed); the VM starts slower" >&2

image_write_cpio "$staging" "$image"
printf '%s\n' "$stamp" > "$out/security-vm.sha256"
echo "$image"
