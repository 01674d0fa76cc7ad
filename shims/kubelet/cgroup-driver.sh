#!/usr/bin/env bash
# Prints the kubelet cgroupDriver value matching the Docker Engine's (cgroupfs or systemd).
# Uses DOCKER_HOST when set. Exit 1 when Docker does not answer.
set -euo pipefail
driver=$(docker info --format '{{.CgroupDriver}}' 2>/dev/null) || {
  echo "cgroup-driver: Docker does not answer at ${DOCKER_HOST:-unix:///var/run/docker.sock}" >&2
  exit 1
}
case "$driver" in
  cgroupfs | systemd) echo "$driver" ;;
  *)
    echo "cgroup-driver: unexpected Docker cgroup driver \"$driver\"" >&2
    exit 1
    ;;
esac
