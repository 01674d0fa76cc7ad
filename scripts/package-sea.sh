#!/usr/bin/env bash
# Builds docker-cri as one executable that needs no Node.js, npm or node_modules on the node
# (Node's single executable application): dist/sea/docker-cri, plus dist/sea/pause (the static
# pause program for the offline pause image). Offline once `npm ci` has run.
#   esbuild   bundles src/main.ts and its dependencies into one CommonJS script (a SEA runs one
#             script and can require only Node's built-in modules)
#   node --experimental-sea-config   turns that script, the CRI proto and the build info into a blob
#   postject  injects the blob into a copy of this machine's node binary
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
OUT=dist/sea
. scripts/pinned-node.sh
NODE=${NODE:-$(command -v node)}
rm -rf "$OUT"
mkdir -p "$OUT"

version=$("$NODE" -p 'require("./package.json").version')
commit=${DOCKER_CRI_COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}
printf '{"version":"%s","commit":"%s"}\n' "$version" "$commit" >"$OUT/build-info.json"

# ssh2 (dockerode's ssh:// transport, with native optional parts) is swapped for a stub: docker-cri
# speaks unix and tcp only. So are @grpc/grpc-js and @grpc/proto-loader, which dockerode loads for
# BuildKit sessions (image builds) only: docker-cri's gRPC server is its own (src/grpc/h2-server.ts). ws's optional native speed-ups are left out; ws falls back by itself.
# Minified (names kept, for logs and error names): the script's source stays resident twice, as
# the executable's mapped blob and as V8's external source string; 2.5 -> 1.2 MB is 1.3 MiB less of
# each, measured idle on Node 26 (bench/sea-memory.bench.ts).
node_modules/.bin/esbuild src/main.ts --bundle --platform=node --target=node26 --format=cjs \
  --log-level=warning --minify --keep-names \
  --alias:ssh2=./shims/deb/ssh2-stub.js \
  --alias:@grpc/grpc-js=./shims/deb/grpc-stub.js --alias:@grpc/proto-loader=./shims/deb/grpc-stub.js \
  --alias:bufferutil=./shims/deb/absent-module.js --alias:utf-8-validate=./shims/deb/absent-module.js \
  --outfile="$OUT/docker-cri.js"
# One character above U+00FF anywhere (esbuild escapes strings, not regular expressions) and V8
# holds the whole source as a two-byte string: 1.2 MiB more resident (Node 26, idle).
if LC_ALL=C grep -q -P '[^\x00-\x7F]' "$OUT/docker-cri.js"; then
  echo "package-sea: the bundle is not ASCII (escape these in the source):" >&2
  LC_ALL=C grep -o -n -P '.{0,30}[^\x00-\x7F]+.{0,10}' "$OUT/docker-cri.js" | cut -c1-120 >&2
  exit 1
fi

# No code cache: V8 rejects it (with a warning at every start) when the binary runs under other
# flags than it was built with (an operator's NODE_OPTIONS). Built under the same flags it is
# accepted, and measured no smaller either (Node 26, idle, within 0.3 MiB).
# The node flags every launcher gives docker-cri (shims/node-options) are the executable's own: some
# of them (V8's tiering and heap tuning) are refused in NODE_OPTIONS.
exec_argv=$("$NODE" -p 'JSON.stringify(require("fs").readFileSync("shims/node-options", "utf8").trim().split(/\s+/).filter(Boolean))')
cat >"$OUT/sea-config.json" <<JSON
{
  "main": "$OUT/docker-cri.js",
  "output": "$OUT/sea-prep.blob",
  "disableExperimentalSEAWarning": true,
  "useCodeCache": false,
  "execArgv": $exec_argv,
  "assets": {
    "api.proto": "proto/runtime/v1/api.proto",
    "build-info.json": "$OUT/build-info.json"
  }
}
JSON
"$NODE" --experimental-sea-config "$OUT/sea-config.json" >/dev/null
cp "$NODE" "$OUT/docker-cri.tmp"
chmod u+w "$OUT/docker-cri.tmp"
node_modules/.bin/postject "$OUT/docker-cri.tmp" NODE_SEA_BLOB "$OUT/sea-prep.blob" \
  --sentinel-fuse NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2 2>&1 >/dev/null | { grep -v "string offset for section" >&2 || true; }
mv "$OUT/docker-cri.tmp" "$OUT/docker-cri"

gcc -static -Os -o "$OUT/pause" shims/pause/pause.c
strip "$OUT/pause" 2>/dev/null || true
echo "package-sea: $OUT/docker-cri ($("$OUT/docker-cri" --version))" >&2

# arm64 (dist/sea/arm64/): the same blob injected into the official arm64 build of the same Node.js
# (scripts/fetch-node-arm64.sh), and the pause program from Debian's cross compiler. The blob is
# source and assets only, nothing of this machine's architecture, as long as it holds no V8 startup
# snapshot or code cache: those an arm64 node would have to make (e.g. under qemu-aarch64-static).
if [[ " ${DOCKER_CRI_ARCHES:-amd64 arm64} " == *" arm64 "* ]]; then
  if ! "$NODE" -e 'const c = require(process.argv[1]); process.exit(c.useSnapshot || c.useCodeCache ? 1 : 0)' \
    "$ROOT/$OUT/sea-config.json"; then
    echo "package-sea: the blob holds x64 V8 state (useSnapshot/useCodeCache); arm64 needs its own" >&2
    exit 1
  fi
  arm64_node=$(bash scripts/fetch-node-arm64.sh)
  mkdir -p "$OUT/arm64"
  cp "$arm64_node" "$OUT/arm64/docker-cri.tmp"
  chmod u+w "$OUT/arm64/docker-cri.tmp"
  node_modules/.bin/postject "$OUT/arm64/docker-cri.tmp" NODE_SEA_BLOB "$OUT/sea-prep.blob" \
    --sentinel-fuse NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2 2>&1 >/dev/null | { grep -v "string offset for section" >&2 || true; }
  mv "$OUT/arm64/docker-cri.tmp" "$OUT/arm64/docker-cri"
  aarch64-linux-gnu-gcc -static -Os -o "$OUT/arm64/pause" shims/pause/pause.c
  aarch64-linux-gnu-strip "$OUT/arm64/pause"
  echo "package-sea: $OUT/arm64/docker-cri (arm64, node $("$NODE" --version))" >&2
fi
