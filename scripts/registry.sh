#!/usr/bin/env bash
# Starts two local registries (Debian's docker-registry) on loopback for pull tests, pushes the
# busybox test image into both, and prints the env the tests read:
#   open registry:   127.0.0.1:$REGISTRY_PORT (no auth)
#   auth registry:   127.0.0.1:$AUTH_REGISTRY_PORT (htpasswd, user tester)
set -euo pipefail
: "${DOCKER_HOST:?run scripts/ensure-docker.sh first}"
STATE=${DOCKER_CRI_STATE:-/tmp/docker-cri-dev}
DOCKER=${DOCKER_CLI:-/usr/bin/docker}
REG=$STATE/registry
PORT=${REGISTRY_PORT:-5000}
AUTH_PORT=${AUTH_REGISTRY_PORT:-5001}
USER_NAME=tester
PASSWORD=s3cret-pass
BUSYBOX_IMAGE=${BUSYBOX_IMAGE:-busybox:latest}
mkdir -p "$REG"

answers() { curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$1/v2/"; }

start() { # name port [auth]
  local name=$1 port=$2 auth=${3:-}
  if answers "$port"; then return 0; fi
  mkdir -p "$REG/$name"
  {
    echo "version: 0.1"
    echo "log: {level: warn}"
    echo "storage:"
    echo "  filesystem: {rootdirectory: $REG/$name}"
    echo "  delete: {enabled: true}"
    echo "http: {addr: 127.0.0.1:$port}"
    if [ -n "$auth" ]; then
      echo "auth:"
      echo "  htpasswd: {realm: docker-cri-test, path: $REG/htpasswd}"
    fi
  } >"$REG/$name.yml"
  setsid nohup docker-registry serve "$REG/$name.yml" >"$REG/$name.log" 2>&1 </dev/null &
  for _ in $(seq 1 40); do
    answers "$port" && return 0
    sleep 0.25
  done
  echo "registry: $name did not start; its log says:" >&2
  tail -20 "$REG/$name.log" >&2
  exit 1
}

[ -f "$REG/htpasswd" ] || htpasswd -Bbn "$USER_NAME" "$PASSWORD" >"$REG/htpasswd"
start open "$PORT"
start auth "$AUTH_PORT" auth

export DOCKER_CONFIG=$REG/docker-config
mkdir -p "$DOCKER_CONFIG"
push() { # registry-host: test/busybox as 1.0 and latest
  local tag ref
  for tag in 1.0 latest; do
    ref=$1/test/busybox:$tag
    if curl -sf -u "$USER_NAME:$PASSWORD" "http://$1/v2/test/busybox/manifests/$tag" \
      -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' -o /dev/null; then
      continue
    fi
    # A copy with its own id, so that tests removing the pulled image by id leave busybox alone.
    "$DOCKER" rm -f dcri-registry-seed >/dev/null 2>&1 || true
    "$DOCKER" create --name dcri-registry-seed "$BUSYBOX_IMAGE" true >/dev/null
    "$DOCKER" commit --change 'LABEL io.docker-cri.test=registry-copy' dcri-registry-seed "$ref" >/dev/null
    "$DOCKER" rm dcri-registry-seed >/dev/null
    "$DOCKER" push "$ref" >/dev/null
    "$DOCKER" rmi "$ref" >/dev/null
  done
}
push "127.0.0.1:$PORT"
echo "$PASSWORD" | "$DOCKER" login -u "$USER_NAME" --password-stdin "127.0.0.1:$AUTH_PORT" >/dev/null 2>&1
push "127.0.0.1:$AUTH_PORT"
"$DOCKER" logout "127.0.0.1:$AUTH_PORT" >/dev/null 2>&1 || true

echo "export DCRI_TEST_REGISTRY=127.0.0.1:$PORT"
echo "export DCRI_TEST_AUTH_REGISTRY=127.0.0.1:$AUTH_PORT"
echo "export DCRI_TEST_AUTH_USER=$USER_NAME"
echo "export DCRI_TEST_AUTH_PASSWORD=$PASSWORD"
