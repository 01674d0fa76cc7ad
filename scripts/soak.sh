#!/usr/bin/env bash
# Long reliability runs, outside the default test command: the leak soak (1,000 pod lifecycles
# with exec, logs and stats; SOAK_PODS to change) and 50 concurrent pods for 20 rounds; with --faults,
# the chaos soak instead (SOAK_FAULT_MINUTES of pod churn behind a fault proxy, bench/soak-faults.ts).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

eval "$(bash scripts/prepare-env.sh)"
export DOCKER_HOST DCRI_TEST_REGISTRY DCRI_TEST_AUTH_REGISTRY DCRI_TEST_AUTH_USER DCRI_TEST_AUTH_PASSWORD
. scripts/pinned-node.sh
npm run --silent build
[ "${BENCH_TARGET:-sea}" = dist ] || [ -n "${BENCH_SEA:-}" ] || bash scripts/package.sh --sea-only
if [ "${1:-}" = --faults ]; then # the chaos soak (bench/soak-faults.ts) instead
  exec node dist/bench/soak-faults.js
fi
node dist/bench/soak.js
DCRI_CONCURRENT_PODS=50 DCRI_CONCURRENT_ROUNDS=20 npx jest --ci --runInBand --forceExit \
  test/integration/reliability-concurrency.test.ts --selectProjects integration
