#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what is missing (Debian packages, npm deps), starts
# the two test engines and the local registries when they do not answer, builds the test images
# offline in both, then runs the build (tsc), lint, formatting check, the unit tests once and the
# integration tests once per engine: the first engine (Debian 12's docker.io 20.10 unless DOCKER_HOST
# or /var/run/docker.sock names another) and Debian's docker.io 28 (scripts/ensure-engine28.sh).
# Extra arguments go to jest. DCRI_TEST_ENGINES=first|28 runs the integration tests on one only;
# DCRI_TEST_PARALLEL=1 runs the engines' integration tests at the same time.
#
# By default the engines run one after the other: see the README for the measurements on 2 cores.
set -euo pipefail
# A step that fails before the tests (set-up, build, lint) still ends with the closing line.
trap 'echo "test.sh: set-up, build or lint failed before the tests ran"; echo "tests: 0 passed, 1 failed"' ERR
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

eval "$(bash scripts/prepare-env.sh)"
export DOCKER_HOST DCRI_TEST_REGISTRY DCRI_TEST_AUTH_REGISTRY DCRI_TEST_AUTH_USER DCRI_TEST_AUTH_PASSWORD
. scripts/pinned-node.sh
FIRST_HOST=$DOCKER_HOST
ENGINES=${DCRI_TEST_ENGINES:-first 28}
if [[ " $ENGINES " == *" 28 "* ]]; then
  engine28_env=$(bash scripts/ensure-engine28.sh)
  SECOND_HOST=${engine28_env#export DOCKER_HOST=}
  SECOND_DOCKERD=$(bash scripts/fetch-engine.sh)/dockerd
  DOCKER_HOST=$SECOND_HOST bash scripts/build-images.sh
fi

# The systemd test's root filesystem (minutes the first time, cached in the state directory after).
bash scripts/build-systemd-rootfs.sh >/dev/null
npm run --silent build
npx eslint .
npx prettier --check . >/dev/null || { npx prettier --check .; exit 1; }

results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
engine_name() { # DOCKER_HOST → "docker 28.5.2+dfsg4 (API 1.51)"
  curl -sf --max-time 5 --unix-socket "${1#unix://}" http://docker/version |
    node -e 'let s="";process.stdin.on("data",(d)=>(s+=d)).on("end",()=>{const v=JSON.parse(s);console.log(`docker ${v.Version} (API ${v.ApiVersion})`)})' ||
    echo "docker at $1 (version unknown)"
}

trap - ERR
status=0
started=$(date +%s)
# --forceExit: a stray handle in one test must not hang CI; leaks are measured by `npm run soak`.
# "$@" comes first: --selectProjects would take the paths after it as project names.
echo "== node $(node --version) (node_modules/.bin/node, pinned in package.json)"
echo "== unit tests"
npx jest "$@" --ci --forceExit --passWithNoTests --json --outputFile="$results/unit.json" \
  --selectProjects unit || status=1

integration() { # engine-key DOCKER_HOST dockerd [jest args]
  local engine=$1 host=$2 dockerd=$3
  shift 3
  # Tests that start a throw-away engine of their own (test/support/private-engine.ts) start this
  # engine's dockerd, so that each run tests one engine version.
  DOCKER_HOST=$host DCRI_TEST_DOCKERD=$dockerd \
    npx jest "$@" --ci --runInBand --forceExit --passWithNoTests \
    --json --outputFile="$results/int-$engine.json" --selectProjects integration
}

pids=()
for engine in $ENGINES; do
  if [ "$engine" = 28 ]; then
    host=$SECOND_HOST
    dockerd=$SECOND_DOCKERD
  else
    host=$FIRST_HOST
    dockerd=$(command -v dockerd || true)
  fi
  name=$(engine_name "$host")
  echo "$name" >"$results/int-$engine.name"
  if [ -n "${DCRI_TEST_PARALLEL:-}" ]; then
    echo "== integration tests on $name at $host (in parallel; output follows when all are done)"
    integration "$engine" "$host" "$dockerd" "$@" >"$results/int-$engine.log" 2>&1 &
    pids+=($!)
  else
    echo "== integration tests on $name at $host"
    integration "$engine" "$host" "$dockerd" "$@" || status=1
  fi
done
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
if [ -n "${DCRI_TEST_PARALLEL:-}" ]; then
  for engine in $ENGINES; do
    echo "== integration tests on $(cat "$results/int-$engine.name")"
    cat "$results/int-$engine.log"
  done
fi

# The summary: each engine's integration results, then one plain closing line for any CI reader.
node - "$results" "$(($(date +%s) - started))" $ENGINES <<'JS' || status=1
const fs = require('fs');
const path = require('path');
const [dir, seconds, ...engines] = process.argv.slice(2);
const read = (f) => {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
  } catch {
    return undefined;
  }
};
let passed = 0;
let failed = 0;
const line = (label, r) => {
  if (!r) {
    failed += 1;
    console.log(`${label}: no results (jest did not finish)`);
    return;
  }
  passed += r.numPassedTests;
  failed += r.numFailedTests + r.numRuntimeErrorTestSuites;
  const broken = r.numRuntimeErrorTestSuites ? `, ${r.numRuntimeErrorTestSuites} suites failed to run` : '';
  console.log(`${label}: ${r.numPassedTests} passed, ${r.numFailedTests} failed${broken}`);
  for (const s of r.testResults.filter((t) => t.status !== 'passed')) {
    console.log(`  FAIL ${path.relative(process.cwd(), s.name)}`);
  }
};
console.log(`== summary (${seconds} s of tests)`);
line('unit', read('unit.json'));
for (const e of engines) {
  const name = fs.readFileSync(path.join(dir, `int-${e}.name`), 'utf8').trim();
  line(`integration on ${name}`, read(`int-${e}.json`));
}
console.log(`tests: ${passed} passed, ${failed} failed`);
JS
exit $status
