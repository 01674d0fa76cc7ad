#!/usr/bin/env bash
# The [NodeConformance] specs of a Kubernetes e2e.test against the cluster of `npm run e2e`, as its
# --then command (KUBECONFIG is set by the runner):
#
#   K8S_BIN=... npm run e2e -- --only='^$' --images=DIR --then='E2E_TEST=... GINKGO=... scripts/node-conformance.sh'
#
# E2E_TEST  e2e.test built from the tree of the cluster's binaries (`go test -c ./test/e2e`)
# GINKGO    the ginkgo CLI that tree vendors (`go build ./vendor/github.com/onsi/ginkgo/v2/ginkgo`),
#           to run specs in parallel: one by one they take about 4 times longer
# CONF_REPORT  where the JUnit and JSON reports go (default /tmp/docker-cri-e2e-conformance)
# CONF_PROCS (4), CONF_TIMEOUT (45m), CONF_FOCUS, CONF_SKIP: ginkgo's --procs, --timeout, --focus, --skip
# The default skip is the upstream node conformance job's: [Serial] (would need the node to
# itself), [Slow] (5 minutes each of waiting for a pod not to start), [Disruptive], [Flaky], [Feature:].
# Summarise with `node dist/test/e2e/conformance-summary.js $CONF_REPORT/report.json`.
set -euo pipefail
: "${KUBECONFIG:?run as npm run e2e -- --then=...}"
: "${E2E_TEST:?E2E_TEST: the e2e.test binary}"
: "${GINKGO:?GINKGO: the ginkgo CLI}"
R=${CONF_REPORT:-/tmp/docker-cri-e2e-conformance}
rm -rf "$R"
mkdir -p "$R"
exec "$GINKGO" -p --procs="${CONF_PROCS:-4}" --timeout="${CONF_TIMEOUT:-45m}" --no-color \
  --focus="${CONF_FOCUS:-\[NodeConformance\]}" \
  --skip="${CONF_SKIP:-\[Serial\]|\[Slow\]|\[Disruptive\]|\[Flaky\]|\[Feature:}" \
  --junit-report=junit.xml --json-report=report.json --output-dir="$R" \
  "$E2E_TEST" -- --kubeconfig="$KUBECONFIG" --provider=skeleton --report-dir="$R"
