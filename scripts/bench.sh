#!/usr/bin/env bash
# Benchmarks against the real engine: sets up like scripts/test.sh, builds, then runs every
# dist/bench/*.bench.js (or only those whose name contains $1). Each bench prints a table and
# writes JSON to bench/results/. Figures are ratios against raw Docker API calls in the same run.
# They measure the single executable the .deb ships (dist/sea/docker-cri, rebuilt here when its
# inputs changed); BENCH_TARGET=dist measures `node dist/src/main.js` instead (bench/support.ts).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

eval "$(bash scripts/prepare-env.sh)"
export DOCKER_HOST DCRI_TEST_REGISTRY DCRI_TEST_AUTH_REGISTRY DCRI_TEST_AUTH_USER DCRI_TEST_AUTH_PASSWORD
. scripts/pinned-node.sh
npm run --silent build
[ "${BENCH_TARGET:-sea}" = dist ] || [ -n "${BENCH_SEA:-}" ] || bash scripts/package.sh --sea-only
mkdir -p bench/results

only=${1:-}
status=0
for b in dist/bench/*.bench.js; do
  [ -e "$b" ] || continue
  if [ -n "$only" ] && [[ $b != *"$only"* ]]; then continue; fi
  echo "== $(basename "$b" .js)"
  node --expose-gc "$b" || status=1
done
exit $status
