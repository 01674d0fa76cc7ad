#!/usr/bin/env bash
# Fetches a current Docker Engine (Debian's docker.io from a newer suite, default sid) as a .deb and
# unpacks it under $DOCKER_CRI_STATE/engine28/root, never installing it over the system package. A
# private apt configuration (own state, cache and source list) leaves the host's apt untouched; the
# archive's address is read from this machine's own apt sources. Prints the unpacked bin directory.
# Runs on Debian 12's containerd and runc; the .deb brings dockerd, docker-proxy and docker-init.
set -euo pipefail
STATE=${DOCKER_CRI_STATE:-/tmp/docker-cri-dev}
DIR=$STATE/engine28
SUITE=${DCRI_ENGINE_SUITE:-sid}
ROOTFS=$DIR/root
BIN=$ROOTFS/usr/sbin

if [ -x "$BIN/dockerd" ] && "$BIN/dockerd" --version >/dev/null 2>&1; then
  echo "$BIN"
  exit 0
fi

# The first Debian archive URI this machine's apt already uses.
archive=$(bash "$(dirname "$0")/debian-archive.sh" fetch-engine)

APT=$DIR/apt
rm -rf "$APT"
mkdir -p "$APT"/{state/lists/partial,cache/archives/partial,etc/sources.list.d,etc/preferences.d,debs}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
cat >"$APT/etc/sources.list.d/engine.sources" <<EOF
Types: deb
URIs: $archive
Suites: $SUITE
Components: main
Signed-By: $keyring
EOF
: >"$APT/etc/sources.list"
opts=(
  -o "Dir::State=$APT/state"
  -o "Dir::State::status=$APT/state/status"
  -o "Dir::Cache=$APT/cache"
  -o "Dir::Etc::SourceList=$APT/etc/sources.list"
  -o "Dir::Etc::SourceParts=$APT/etc/sources.list.d"
  -o "Dir::Etc::Preferences=$APT/etc/preferences"
  -o "Dir::Etc::PreferencesParts=$APT/etc/preferences.d"
  -o "APT::Architecture=$(dpkg --print-architecture)"
  -o "Acquire::Languages=none"
  -o "APT::Sandbox::User=root"
)
: >"$APT/state/status"
echo "fetch-engine: downloading docker.io from the $SUITE suite (private apt state in $APT)" >&2
apt-get "${opts[@]}" -qq update >&2
(cd "$APT/debs" && apt-get "${opts[@]}" -qq download docker.io >&2)
deb=$(ls "$APT"/debs/docker.io_*.deb | head -1)
rm -rf "$ROOTFS"
mkdir -p "$ROOTFS"
dpkg-deb -x "$deb" "$ROOTFS"
cp "$deb" "$DIR/"
rm -rf "$APT"
"$BIN/dockerd" --version >&2
echo "$BIN"
