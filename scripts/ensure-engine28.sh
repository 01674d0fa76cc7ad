#!/usr/bin/env bash
# Starts the second test engine when it does not answer: Debian's docker.io 28.x unpacked by
# scripts/fetch-engine.sh, on Debian 12's containerd and runc, as a private dockerd with its own
# data-root, exec-root, socket, pidfile and bridge under $DOCKER_CRI_STATE/engine28.
# Prints `export DOCKER_HOST=...` for the caller to eval.
#
# Two dockerds on one host must not both manage iptables: each rewrites the shared DOCKER chains
# when it starts. So this one runs with --iptables=false and a bridge made here (never
# `--bridge none`, which makes dockerd delete docker0, the other engine's bridge). No
# --default-address-pool either: with one set, a dockerd that finds a "bridge" network in its store
# at start deletes the host's docker0 too (seen with 28.5 on a fresh data root: the first engine's
# containers then fail with "could not find bridge docker0"). Docker 20.10 left
# FORWARD's policy at DROP and br_netfilter passes bridged frames through it, so one rule of our own
# lets this bridge's containers talk to each other; nothing else of the host is changed.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
STATE=${DOCKER_CRI_STATE:-/tmp/docker-cri-dev}
DIR=$STATE/engine28
SOCK=$DIR/docker.sock
BRIDGE=${DCRI_ENGINE28_BRIDGE:-dcri28}
# In 172.16.0.0/12 like docker0's default (tests expect a pod IP there), at its far end, away from
# the pools 20.10 hands out first.
BRIDGE_CIDR=${DCRI_ENGINE28_CIDR:-172.31.253.1/24}
mkdir -p "$DIR"

answers() { curl -sf --max-time 3 --unix-socket "$1" http://docker/_ping >/dev/null 2>&1; }

if ! answers "$SOCK"; then
  had_docker0=$(ip link show docker0 >/dev/null 2>&1 && echo yes || echo no)
  bin=$(bash "$ROOT/scripts/fetch-engine.sh")
  root=$(cd "$bin/../.." && pwd)
  if [ -f "$DIR/docker.pid" ] && kill -0 "$(cat "$DIR/docker.pid")" 2>/dev/null; then
    kill "$(cat "$DIR/docker.pid")" 2>/dev/null || true
    sleep 2
  fi
  ip link show "$BRIDGE" >/dev/null 2>&1 || ip link add "$BRIDGE" type bridge
  if ! ip -4 addr show dev "$BRIDGE" | grep -q "inet $BRIDGE_CIDR "; then
    ip -4 addr flush dev "$BRIDGE"
    ip addr add "$BRIDGE_CIDR" dev "$BRIDGE"
    # dockerd would put back the address it stored last time: forget its network state.
    rm -f "$DIR/data/network/files/local-kv.db"
  fi
  ip link set "$BRIDGE" up
  iptables -C FORWARD -i "$BRIDGE" -o "$BRIDGE" -j ACCEPT 2>/dev/null ||
    iptables -I FORWARD -i "$BRIDGE" -o "$BRIDGE" -j ACCEPT
  echo "ensure-engine28: starting $("$bin/dockerd" --version) on $SOCK (log: $DIR/dockerd.log)" >&2
  # docker-proxy and docker-init come from the .deb: its folders go first on dockerd's PATH.
  PATH="$root/usr/sbin:$root/usr/bin:$PATH" setsid nohup "$bin/dockerd" \
    --data-root "$DIR/data" \
    --exec-root "$DIR/exec" \
    --host "unix://$SOCK" \
    --pidfile "$DIR/docker.pid" \
    --bridge "$BRIDGE" \
    --iptables=false \
    --ip6tables=false \
    --ip-masq=false \
    >"$DIR/dockerd.log" 2>&1 </dev/null &
  for _ in $(seq 1 60); do
    answers "$SOCK" && break
    sleep 0.5
  done
  if ! answers "$SOCK"; then
    echo "ensure-engine28: dockerd did not come up; its log says:" >&2
    tail -20 "$DIR/dockerd.log" >&2
    exit 1
  fi
  # Another engine's bridge is not ours to touch: fail loudly rather than leave it broken.
  if [ "$had_docker0" = yes ] && ! ip link show docker0 >/dev/null 2>&1; then
    echo "ensure-engine28: starting this engine removed docker0, the other engine's bridge" >&2
    exit 1
  fi
fi
echo "export DOCKER_HOST=unix://$SOCK"
