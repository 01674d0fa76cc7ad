#!/usr/bin/env bash
# Benchmarks against the real engine: sets up like scripts/test.sh, builds, then runs every
# dist/bench/*.bench.js (or only those whose name contains $1). Each bench prints a table and
# writes JSON to bench/results/. Figures are ratios against raw Docker API calls in the same run.
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
