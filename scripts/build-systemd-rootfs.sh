#!/usr/bin/env bash
# A Debian 12 root filesystem whose PID 1 is systemd, for test/integration/packaging-systemd.test.ts:
# made offline-from-Debian with mmdebstrap (minbase + systemd, systemd-sysv, dbus), cached as
# $DOCKER_CRI_STATE/systemd-rootfs/<hash of this recipe>.tar. Prints the tarball's path; a later
# run with the same recipe prints it at once. The archive's address is read from this machine's
# own apt sources, as scripts/fetch-engine.sh does.
#
# The container runs privileged, so it sees the host's /dev, /proc/sys and /sys: every unit that
# would act on the host's kernel or devices (sysctl, modules, binfmt, pstore, gettys on the host's
# ttys, udev, timers that trim or scrub filesystems, the audit socket) is masked in the image.
set -euo pipefail
STATE=${DOCKER_CRI_STATE:-/tmp/docker-cri-dev}
DIR=$STATE/systemd-rootfs
SUITE=bookworm
# libatomic1: what apt would bring in for the .deb's Depends (the test installs it with dpkg, offline).
PACKAGES=systemd,systemd-sysv,dbus,libatomic1
MASKED=(
  systemd-sysctl.service systemd-modules-load.service systemd-binfmt.service
  proc-sys-fs-binfmt_misc.automount proc-sys-fs-binfmt_misc.mount systemd-random-seed.service
  systemd-pstore.service systemd-journald-audit.socket systemd-firstboot.service
  getty.target getty@.service serial-getty@.service console-getty.service container-getty@.service
  systemd-logind.service systemd-udevd.service systemd-udev-trigger.service
  systemd-udev-settle.service systemd-hwdb-update.service systemd-timesyncd.service
  sys-kernel-debug.mount sys-kernel-tracing.mount sys-kernel-config.mount
  sys-fs-fuse-connections.mount dev-hugepages.mount systemd-remount-fs.service
  apt-daily.timer apt-daily-upgrade.timer fstrim.timer e2scrub_all.timer e2scrub_reap.service
  dpkg-db-backup.timer systemd-tmpfiles-clean.timer
)

# The first Debian archive URI this machine's apt already uses.
archive=$(bash "$(dirname "$0")/debian-archive.sh" build-systemd-rootfs)

# The recipe: suite, packages, masked units, archive and the build steps' revision (raise it when
# the mmdebstrap line below changes). Any change is a new tarball; comments here are not.
STEPS=1
hash=$(echo "$SUITE $PACKAGES ${MASKED[*]} $archive steps=$STEPS" | sha256sum | cut -c1-16)
tar=$DIR/$hash.tar
if [ -s "$tar" ]; then
  echo "$tar"
  exit 0
fi

if ! command -v mmdebstrap >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then
    echo "build-systemd-rootfs: mmdebstrap is missing; run as root to install it" >&2
    exit 1
  fi
  echo "build-systemd-rootfs: installing mmdebstrap" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends mmdebstrap >&2
fi

mkdir -p "$DIR"
tmp=$(mktemp "$DIR/.build-XXXXXX.tar")
trap 'rm -f "$tmp"' EXIT
echo "build-systemd-rootfs: building $SUITE (minbase + $PACKAGES) into $tar" >&2
mmdebstrap --quiet --variant=minbase --include="$PACKAGES" \
  --aptopt='APT::Install-Recommends "false"' \
  --customize-hook="systemctl --root=\"\$1\" mask ${MASKED[*]} >/dev/null 2>&1" \
  --customize-hook='rm -f "$1"/etc/machine-id && touch "$1"/etc/machine-id' \
  "$SUITE" "$tmp" "deb $archive $SUITE main" >&2
mv "$tmp" "$tar"
# older recipes' tarballs are no use any more
find "$DIR" -maxdepth 1 -name '*.tar' ! -name '.*' ! -name "$hash.tar" -delete
echo "$tar"
