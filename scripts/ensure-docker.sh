#!/usr/bin/env bash
# Finds a Docker Engine that answers, or starts a private dockerd (own data-root, exec-root and
# socket under $DOCKER_CRI_STATE). Prints `export DOCKER_HOST=...` for the caller to eval.
set -euo pipefail

STATE=${DOCKER_CRI_STATE:-/tmp/docker-cri-dev}
ENGINE=$STATE/engine
mkdir -p "$ENGINE"

answers() { curl -sf --max-time 3 --unix-socket "$1" http://docker/_ping >/dev/null 2>&1; }

if [ -n "${DOCKER_HOST:-}" ] && [[ $DOCKER_HOST == unix://* ]] && answers "${DOCKER_HOST#unix://}"; then
  echo "export DOCKER_HOST=$DOCKER_HOST"
  exit 0
fi
if [ -z "${DOCKER_CRI_PRIVATE_ENGINE:-}" ] && answers /var/run/docker.sock; then
  echo "export DOCKER_HOST=unix:///var/run/docker.sock"
  exit 0
fi
SOCK=$ENGINE/docker.sock
if ! answers "$SOCK"; then
  if [ -f "$ENGINE/docker.pid" ] && kill -0 "$(cat "$ENGINE/docker.pid")" 2>/dev/null; then
    kill "$(cat "$ENGINE/docker.pid")" 2>/dev/null || true
    sleep 2
  fi
  echo "ensure-docker: starting a private dockerd on $SOCK (log: $ENGINE/dockerd.log)" >&2
  setsid nohup dockerd \
    --data-root "$ENGINE/data" \
    --exec-root "$ENGINE/exec" \
    --host "unix://$SOCK" \
    --pidfile "$ENGINE/docker.pid" \
    >"$ENGINE/dockerd.log" 2>&1 </dev/null &
  for _ in $(seq 1 60); do
    answers "$SOCK" && break
    sleep 0.5
  done
  if ! answers "$SOCK"; then
    echo "ensure-docker: dockerd did not come up; its log says:" >&2
    tail -20 "$ENGINE/dockerd.log" >&2
    exit 1
  fi
fi
echo "export DOCKER_HOST=unix://$SOCK"
