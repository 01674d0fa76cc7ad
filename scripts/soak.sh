#!/usr/bin/env bash
# Long reliability runs, outside the default test command: the leak soak (1,000 pod lifecycles
# with exec, logs and stats; SOAK_PODS to change) and 50 concurrent pods for 20 rounds.
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
node dist/bench/soak.js
DCRI_CONCURRENT_PODS=50 DCRI_CONCURRENT_ROUNDS=20 npx jest --ci --runInBand --selectProjects integration \
  test/integration/reliability-concurrency.test.ts
