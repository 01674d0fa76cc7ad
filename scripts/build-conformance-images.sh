#!/usr/bin/env bash
# Makes, offline, the images the [NodeConformance] specs of a Kubernetes e2e.test ask for, as
# `docker save` tarballs for `npm run e2e -- --images=DIR`. Names and tags are read from the tree's
# test/utils/image/manifest.go, so they match the e2e.test built from the same tree.
#
# Usage: build-conformance-images.sh K8S_TREE OUT_DIR
#   AGNHOST_BIN  agnhost built from the tree (default: `go build ./test/images/agnhost` there)
#   NNP_BIN      nonewprivs built from the tree (default: `go build ./test/images/nonewprivs`)
#   BUSYBOX_BIN  a static busybox (default /bin/busybox). The upstream images use upstream busybox
#                1.37 (defconfig): Debian's busybox-static drops environment variables whose names
#                are not shell names (`data-1`) when its sh starts (a Debian patch), which fails
#                the "consumable via the environment" specs; build upstream's source (`make
#                defconfig`, CONFIG_STATIC=y) for those.
#
# What each image holds (upstream builds them from Alpine or Debian bases, which are not offline):
#   busybox      busybox and its applets, passwd/group
#   agnhost      the busybox root + /agnhost (and the tree's porter certificate) + bash and curl from
#                this host with the shared libraries they load (the specs run `curl` in poststart
#                hooks and `/bin/bash -c` scripts) + the image's user 1000 and group 50000;
#                also tagged as the previous agnhost release the tree names
#   nonewprivs   the busybox root + nnp set-uid root;  nonroot: the busybox root, USER 1234
#   glibc-dns-testing  the busybox root with this host's dash as sh and its hostname (glibc)
#   pause        shims/pause/pause.c, static
set -euo pipefail
TREE=${1:?usage: build-conformance-images.sh K8S_TREE OUT_DIR}
OUT=${2:?usage: build-conformance-images.sh K8S_TREE OUT_DIR}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MANIFEST=$TREE/test/utils/image/manifest.go
[ -f "$MANIFEST" ] || {
  echo "build-conformance-images: $MANIFEST not found" >&2
  exit 1
}
BUSYBOX_BIN=${BUSYBOX_BIN:-/bin/busybox}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$OUT"

# `configs[Agnhost] = Config{list.PromoterE2eRegistry, "agnhost", "2.63.0"}` → 2.63.0
tag_of() { sed -n "s/^\s*configs\[$1\] = Config{[^,]*, \"[^\"]*\", \"\([^\"]*\)\"}.*/\1/p" "$MANIFEST"; }
E2E=registry.k8s.io/e2e-test-images

gobuild() { # package output
  (cd "$TREE" && CGO_ENABLED=0 GOFLAGS=${GOFLAGS:--mod=vendor} go build -trimpath -o "$2" "./$1")
}
AGNHOST_BIN=${AGNHOST_BIN:-}
if [ -z "$AGNHOST_BIN" ]; then
  AGNHOST_BIN=$work/agnhost
  gobuild test/images/agnhost "$AGNHOST_BIN"
fi
NNP_BIN=${NNP_BIN:-}
if [ -z "$NNP_BIN" ]; then
  NNP_BIN=$work/nnp
  gobuild test/images/nonewprivs "$NNP_BIN"
fi

# image NAME ROOTFS CONFIG_JSON TAG... : a one-layer image in `docker save` format at OUT/NAME.tar
image() {
  local name=$1 rootfs=$2 config=$3
  shift 3
  local d=$work/img-$name
  rm -rf "$d" && mkdir -p "$d"
  tar --numeric-owner -C "$rootfs" -cf "$d/layer.tar" .
  local lsha csha tags
  lsha=$(sha256sum "$d/layer.tar" | cut -d' ' -f1)
  mkdir "$d/$lsha" && mv "$d/layer.tar" "$d/$lsha/layer.tar"
  printf '{"architecture":"amd64","os":"linux","config":%s,"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "$config" "$lsha" >"$d/config.json"
  csha=$(sha256sum "$d/config.json" | cut -d' ' -f1)
  mv "$d/config.json" "$d/$csha.json"
  tags=$(printf '"%s",' "$@")
  printf '[{"Config":"%s.json","RepoTags":[%s],"Layers":["%s/layer.tar"]}]' "$csha" "${tags%,}" "$lsha" >"$d/manifest.json"
  tar -C "$d" -cf "$OUT/$name.tar" manifest.json "$csha.json" "$lsha"
  echo "build-conformance-images: $OUT/$name.tar: $*" >&2
}
PATH_ENV='"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]'

busybox_root() { # DIR
  local d=$1
  mkdir -p "$d"/{bin,etc,tmp,proc,sys,dev,root,home,var/run,usr/local/bin,usr/bin,usr/sbin,sbin}
  chmod 1777 "$d/tmp"
  cp "$BUSYBOX_BIN" "$d/bin/busybox"
  local a
  for a in $("$BUSYBOX_BIN" --list); do
    [ "$a" = busybox ] || [ -e "$d/bin/$a" ] || ln -s busybox "$d/bin/$a"
  done
  printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'daemon:x:1:1:daemon:/usr/sbin:/bin/false' \
    'nobody:x:65534:65534:nobody:/home:/bin/false' >"$d/etc/passwd"
  printf '%s\n' 'root:x:0:' 'daemon:x:1:' 'nogroup:x:65534:' >"$d/etc/group"
}

# copy_with_libs DIR BINARY... : the binaries at their paths and every shared library they load
copy_with_libs() {
  local d=$1 f lib
  shift
  for f in "$@"; do
    mkdir -p "$d/$(dirname "$f")" && cp -L "$f" "$d/$f"
    for lib in $(ldd "$f" | grep -o '/[^ ]*'); do
      [ -e "$d/$lib" ] || { mkdir -p "$d/$(dirname "$lib")" && cp -L "$lib" "$d/$lib"; }
    done
  done
  # curl resolves names through NSS, which glibc loads at run time, not through ldd's list.
  for lib in /lib/x86_64-linux-gnu/libnss_files.so.2 /lib/x86_64-linux-gnu/libnss_dns.so.2; do
    [ -e "$lib" ] && mkdir -p "$d/$(dirname "$lib")" && cp -L "$lib" "$d/$lib"
  done
  printf 'hosts: files dns\n' >"$d/etc/nsswitch.conf"
}

bb=$work/busybox
busybox_root "$bb"
image busybox "$bb" "{$PATH_ENV,\"Cmd\":[\"sh\"]}" "$E2E/busybox:$(tag_of BusyBox)"

ag=$work/agnhost
cp -a "$bb" "$ag"
rm -f "$ag/bin/bash"
copy_with_libs "$ag" /usr/bin/bash /usr/bin/curl
ln -sf /usr/bin/bash "$ag/bin/bash"
cp "$AGNHOST_BIN" "$ag/agnhost"
ln -s agnhost "$ag/agnhost-2"
cp "$TREE/test/images/agnhost/porter/localhost.crt" "$TREE/test/images/agnhost/porter/localhost.key" "$ag/"
mkdir -p "$ag/uploads" "$ag/home/user-defined-in-image"
echo 'user-defined-in-image:x:1000:1000::/home/user-defined-in-image:/bin/sh' >>"$ag/etc/passwd"
printf '%s\n' 'user-defined-in-image:x:1000:' 'group-defined-in-image:x:50000:user-defined-in-image' >>"$ag/etc/group"
chown 1000:1000 "$ag/home/user-defined-in-image"
image agnhost "$ag" "{$PATH_ENV,\"Entrypoint\":[\"/agnhost\"],\"Cmd\":[\"pause\"]}" \
  "$E2E/agnhost:$(tag_of Agnhost)" "$E2E/agnhost:$(tag_of AgnhostPrev)"

nnp=$work/nonewprivs
cp -a "$bb" "$nnp"
install -m 4755 -o 0 -g 0 "$NNP_BIN" "$nnp/usr/local/bin/nnp"
image nonewprivs "$nnp" "{$PATH_ENV,\"Cmd\":[\"nnp\"]}" "$E2E/nonewprivs:$(tag_of Nonewprivs)"

image nonroot "$bb" "{$PATH_ENV,\"Cmd\":[\"sh\"],\"User\":\"1234\"}" "$E2E/nonroot:$(tag_of NonRoot)"

# Upstream: Debian with dnsutils. The specs that use it run `sh -c 'hostname; hostname -f'`, which
# must go through glibc's resolver (/etc/hosts by NSS): Debian's dash and hostname with their libs.
gd=$work/glibc-dns-testing
cp -a "$bb" "$gd"
rm -f "$gd/bin/sh" "$gd/bin/hostname"
copy_with_libs "$gd" /usr/bin/dash /usr/bin/hostname
ln -s /usr/bin/dash "$gd/bin/sh"
ln -s /usr/bin/hostname "$gd/bin/hostname"
image glibc-dns-testing "$gd" "{$PATH_ENV,\"Cmd\":[\"/bin/sh\"]}" "$E2E/glibc-dns-testing:$(tag_of GlibcDnsTesting)"

pz=$work/pause
mkdir -p "$pz"
gcc -static -Os -o "$pz/pause" "$ROOT/shims/pause/pause.c"
strip "$pz/pause" 2>/dev/null || true
image pause "$pz" '{"Entrypoint":["/pause"]}' "registry.k8s.io/pause:$(tag_of Pause)"
