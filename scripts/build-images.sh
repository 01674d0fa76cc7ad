#!/usr/bin/env bash
# Builds the images tests and the dev shim need, offline: busybox from Debian's busybox-static via
# `docker import`, and the pause image from shims/pause. Skips what is already up to date.
set -euo pipefail
: "${DOCKER_HOST:?run scripts/ensure-docker.sh first}"
ROOT=$(cd "$(dirname "$0")/.." && pwd)
STATE=${DOCKER_CRI_STATE:-/tmp/docker-cri-dev}
DOCKER=${DOCKER_CLI:-/usr/bin/docker}
BUSYBOX_IMAGE=${BUSYBOX_IMAGE:-busybox:latest}
PAUSE_IMAGE=${PAUSE_IMAGE:-registry.k8s.io/pause:3.10}

label_of() { "$DOCKER" image inspect -f "{{ index .Config.Labels \"$2\" }}" "$1" 2>/dev/null || true; }

bb_hash=$(sha256sum /bin/busybox "$0" | sha256sum | cut -c1-16)
if [ "$(label_of "$BUSYBOX_IMAGE" io.docker-cri.source)" != "$bb_hash" ]; then
  rootfs=$(mktemp -d)
  trap 'rm -rf "$rootfs"' EXIT
  mkdir -p "$rootfs"/{bin,etc,tmp,proc,sys,dev,root,home/app,var/run}
  chmod 1777 "$rootfs/tmp"
  cp /bin/busybox "$rootfs/bin/busybox"
  for applet in $(/bin/busybox --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$rootfs/bin/$applet"
  done
  cat >"$rootfs/etc/passwd" <<'PW'
root:x:0:0:root:/root:/bin/sh
app:x:1000:1000:app:/home/app:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/sh
PW
  cat >"$rootfs/etc/group" <<'GR'
root:x:0:
app:x:1000:
extra:x:2000:app
nogroup:x:65534:
GR
  chown 1000:1000 "$rootfs/home/app"
  tar -C "$rootfs" -c . | "$DOCKER" import \
    --change 'CMD ["sh"]' --change "LABEL io.docker-cri.source=$bb_hash" \
    --change 'ENV PATH=/bin' - "$BUSYBOX_IMAGE" >/dev/null
  echo "build-images: built $BUSYBOX_IMAGE" >&2
fi

bash "$ROOT/shims/pause/build.sh" "$PAUSE_IMAGE" >&2
