#!/usr/bin/env bash
# Builds the pause image offline: pause.c compiled with `gcc -static`, one file in a tarball,
# brought in with `docker import`. Usage: build.sh [IMAGE] (default registry.k8s.io/pause:3.10).
# Skips the work when IMAGE already carries the hash of this source.
set -euo pipefail
: "${DOCKER_HOST:?DOCKER_HOST must point at the engine}"
IMAGE=${1:-registry.k8s.io/pause:3.10}
HERE=$(cd "$(dirname "$0")" && pwd)
DOCKER=${DOCKER_CLI:-/usr/bin/docker}
hash=$(sha256sum "$HERE/pause.c" "$HERE/build.sh" | sha256sum | cut -c1-16)
current=$("$DOCKER" image inspect -f '{{ index .Config.Labels "io.docker-cri.source" }}' "$IMAGE" 2>/dev/null || true)
if [ "$current" = "$hash" ]; then
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/rootfs"
gcc -static -Os -Wall -Wextra -o "$work/rootfs/pause" "$HERE/pause.c"
strip "$work/rootfs/pause" 2>/dev/null || true
tar -C "$work/rootfs" -c pause | "$DOCKER" import \
  --change 'ENTRYPOINT ["/pause"]' \
  --change "LABEL io.docker-cri.source=$hash" \
  - "$IMAGE" >/dev/null
echo "pause: built $IMAGE from $HERE/pause.c" >&2
