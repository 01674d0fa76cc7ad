#!/usr/bin/env bash
# `npm run e2e`: Kubernetes itself as the acceptance test. Brings up etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler and a kubelet (its default feature gates) on docker-cri
# built from this tree and a private Docker engine of the run's own, runs the kubectl workflows of
# test/e2e/, prints `e2e: N passed, M failed` and tears everything down (pods first, kernel
# tunables restored, bridges, namespaces, cgroups and mounts removed), on failure or interrupt too.
#
# K8S_BIN: a directory with kubelet, kube-apiserver, kube-controller-manager and kube-scheduler
# (and kubectl, etcd, else found on PATH). See the README's "End-to-end" section for how to get them.
# Extra arguments go to the runner: --two-nodes, --only=REGEX, --keep-logs, --runtime=cri-dockerd
# (binary in DCRI_E2E_CRI_DOCKERD) or --runtime=containerd (unpacked in DCRI_E2E_CONTAINERD_DIR, with
# --images=DIR), --kubelet-feature-gates=K=V,..., --density, --json=FILE (see test/e2e/main.ts).
# Needs root (bridges, cgroups, a kubelet). Uses 10.77.0.0/16 and 10.78.0.0/24, loopback ports
# 23791, 23801, 16257, 16259, port 16443 on 10.77.1.1 and 10250 on each node's address.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
fail() {
  echo "e2e: $*" >&2
  echo "e2e: 0 passed, 1 failed"
  exit 1
}
[ "$(id -u)" = 0 ] || fail "needs root (a kubelet, bridges, cgroups)"
: "${K8S_BIN:=}"
[ -n "$K8S_BIN" ] || fail "K8S_BIN is not set: a directory with kubelet, kube-apiserver, kube-controller-manager, kube-scheduler (see the README)"
for b in kubelet kube-apiserver kube-controller-manager kube-scheduler; do
  [ -x "$K8S_BIN/$b" ] || fail "$K8S_BIN/$b is missing"
done
for b in kubectl etcd; do
  [ -x "$K8S_BIN/$b" ] || command -v "$b" >/dev/null || fail "$b is neither in $K8S_BIN nor on PATH (Debian: kubectl, etcd-server)"
done
for b in openssl script curl ip iptables nsenter; do
  command -v "$b" >/dev/null || fail "$b is missing"
done

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run --silent build
# docker-cri runs as the package's executable (DCRI_E2E_TARGET=dist: node dist/src/main.js).
[ "${DCRI_E2E_TARGET:-sea}" = dist ] || bash scripts/package.sh --sea-only

# The private engines' dockerd: DCRI_E2E_DOCKERD, else the current engine scripts/fetch-engine.sh
# unpacks (the integration tests' second engine), else the system's.
if [ -z "${DCRI_E2E_DOCKERD:-}" ]; then
  if bin=$(bash scripts/fetch-engine.sh 2>/dev/null); then
    DCRI_E2E_DOCKERD=$bin/dockerd
  else
    DCRI_E2E_DOCKERD=$(command -v dockerd) || fail "no dockerd (set DCRI_E2E_DOCKERD)"
  fi
fi
export K8S_BIN DCRI_E2E_DOCKERD
exec node dist/test/e2e/main.js "$@"
