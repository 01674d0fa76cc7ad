#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what is missing (Debian packages, npm deps), starts
# a Docker Engine and local registries when none answer, builds the test images offline, then runs
# the build (tsc), lint, formatting check, unit and integration tests. Extra arguments go to jest.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

eval "$(bash scripts/prepare-env.sh)"
export DOCKER_HOST DCRI_TEST_REGISTRY DCRI_TEST_AUTH_REGISTRY DCRI_TEST_AUTH_USER DCRI_TEST_AUTH_PASSWORD

npm run --silent build
npx eslint .
npx prettier --check . >/dev/null || { npx prettier --check .; exit 1; }
# --forceExit: a stray handle in one test must not hang CI; leaks are measured by `npm run soak`.
results=$(mktemp)
status=0
npx jest --ci --runInBand --forceExit --json --outputFile="$results" "$@" || status=$?
# One plain closing line that any CI reader understands.
node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed`);' "$results" || true
rm -f "$results"
exit $status
