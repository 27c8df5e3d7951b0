#!/usr/bin/env bash
# Make sure libvirtd (and virtlogd, which it needs to log QEMU's output) answers at qemu:///system.
#   scripts/libvirtd-up.sh            idempotent: if libvirtd already answers, does nothing
# Works with systemd (systemctl start) and without it (containers, CI: `virtlogd -d; libvirtd -d`).
# Waits until `virsh -c qemu:///system version` answers, at most VMSIGHT_LIBVIRTD_TIMEOUT seconds
# (default 30); otherwise prints one line naming what failed and exits 2.
# libvirt's packages (libvirt-daemon-system, libvirt-clients) are installed by scripts/setup.sh.
set -euo pipefail
uri=qemu:///system
timeout=${VMSIGHT_LIBVIRTD_TIMEOUT:-30}

die() { echo "libvirtd-up: $*" >&2; exit 2; }

answers() { timeout 10 virsh -c "$uri" version >/dev/null 2>&1; }

command -v virsh >/dev/null || die "virsh is missing (run scripts/setup.sh: apt-get install libvirt-clients)"
answers && exit 0

[ "$(id -u)" = 0 ] || die "libvirtd is not answering at $uri and starting it needs root"
for daemon in virtlogd libvirtd; do
  command -v "$daemon" >/dev/null || [ -x "/usr/sbin/$daemon" ] \
    || die "$daemon is missing (run scripts/setup.sh: apt-get install libvirt-daemon-system)"
done

if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
  systemctl start virtlogd.socket virtlogd libvirtd || die "systemctl start libvirtd failed (journalctl -u libvirtd)"
else
  # -x: these names are at most 15 characters, so the exact comm match works (see LAB-NOTES).
  pgrep -x virtlogd >/dev/null || /usr/sbin/virtlogd -d || die "virtlogd -d failed"
  pgrep -x libvirtd >/dev/null || /usr/sbin/libvirtd -d || die "libvirtd -d failed"
fi

deadline=$((SECONDS + timeout))
until answers; do
  if [ $SECONDS -ge $deadline ]; then
    die "libvirtd did not answer at $uri within ${timeout}s (is it running? see /var/log/libvirt/ or journalctl -u libvirtd)"
  fi
  sleep 0.5
done
