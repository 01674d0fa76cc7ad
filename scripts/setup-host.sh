#!/usr/bin/env bash
# Installs the Debian packages docker-cri and its tests need, only when something is missing.
set -euo pipefail

need=()
have_cmd() { command -v "$1" >/dev/null 2>&1; }
have_cmd dockerd || need+=(docker.io)
have_cmd docker-registry || need+=(docker-registry)
[ -x /bin/busybox ] || need+=(busybox-static)
have_cmd htpasswd || need+=(apache2-utils)
have_cmd curl || need+=(curl)
have_cmd gcc || need+=(gcc)
[ -f /usr/lib/x86_64-linux-gnu/libc.a ] || [ -f /usr/lib/aarch64-linux-gnu/libc.a ] || need+=(libc6-dev)
[ -x /usr/lib/cni/bridge ] || [ -x /opt/cni/bin/bridge ] || need+=(containernetworking-plugins)
have_cmd docker-compose || need+=(docker-compose)
have_cmd ip || need+=(iproute2)
have_cmd iptables || need+=(iptables)
have_cmd pgrep || need+=(procps)
have_cmd nsenter || need+=(util-linux)
have_cmd systemd-socket-activate || need+=(systemd) # socket-activation tests hand fd 3 over with it
have_cmd mmdebstrap || need+=(mmdebstrap) # the systemd test's Debian 12 root filesystem
# The arm64 .deb (npm run package): its static pause program, and running its executable in a test.
have_cmd aarch64-linux-gnu-gcc || need+=(gcc-aarch64-linux-gnu)
[ -f /usr/aarch64-linux-gnu/lib/libc.a ] || need+=(libc6-dev-arm64-cross)
have_cmd qemu-aarch64-static || need+=(qemu-user-static)

if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup-host: missing ${need[*]}; run as root to install them" >&2
    exit 1
  fi
  echo "setup-host: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi
