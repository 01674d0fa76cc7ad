#!/usr/bin/env bash
# Starts docker-cri against the local Docker Engine, setting up whatever is missing first: Debian
# packages, npm deps, the build, a private dockerd when none answers, and the pause image.
# Extra arguments are docker-cri flags (default socket: unix:///run/docker-cri.sock).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

bash scripts/setup-host.sh
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
# From here on `node` is the pinned Node.js (npm ci above ran on the machine's own).
. scripts/pinned-node.sh
npm run --silent build
eval "$(bash scripts/ensure-docker.sh)"
export DOCKER_HOST
bash shims/pause/build.sh registry.k8s.io/pause:3.10
# Node flags and environment of every launcher (see shims/README.md for why).
# shellcheck disable=SC2046
export $(cat shims/node-env)
# shellcheck disable=SC2046
exec node $(cat shims/node-options) dist/src/main.js --docker-endpoint "$DOCKER_HOST" "$@"
