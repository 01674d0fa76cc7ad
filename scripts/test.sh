#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what is missing (Debian packages, npm deps), starts
# a Docker Engine and local registries when none answer, builds the test images offline, then runs
# type checks, lint, unit and integration tests. Extra arguments go to jest.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

bash scripts/setup-host.sh
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
eval "$(bash scripts/ensure-docker.sh)"
export DOCKER_HOST
bash scripts/build-images.sh
eval "$(bash scripts/registry.sh)"

npm run --silent build
npx eslint .
npx prettier --check . >/dev/null || { npx prettier --check .; exit 1; }
npx jest --ci --runInBand "$@"
