#!/usr/bin/env bash
# Everything the tests, benchmarks and soak need, installed and started when missing: Debian
# packages, npm deps, a Docker Engine, the offline test images and (unless --no-registry) the local
# registries. Prints the environment to eval: DOCKER_HOST and the registries' addresses.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

bash scripts/setup-host.sh
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund >&2
fi
. scripts/pinned-node.sh
engine_env=$(bash scripts/ensure-docker.sh)
eval "$engine_env"
export DOCKER_HOST
echo "$engine_env"
bash scripts/build-images.sh
if [ "${1:-}" != --no-registry ]; then
  bash scripts/registry.sh
fi
