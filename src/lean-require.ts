import Module from 'module';
import path from 'path';

/**
 * Modules of dockerode's that docker-cri never reaches but that would stay resident if loaded:
 * each is registered under its resolved path as a stand-in before dockerode loads, and the stand-in
 * says why it is missing if it were ever reached. Only the binary does this (main.ts); library
 * users and tests load the real modules. The single executable leaves the same modules out at
 * bundling instead (scripts/package-sea.sh).
 */

/** Registers `exports` as the module at `file`, unless something loaded the real one first. */
function standIn(file: string, exports: unknown): void {
  if (require.cache[file]) return;
  const stub = new Module(file);
  stub.filename = file;
  stub.loaded = true;
  stub.exports = exports;
  require.cache[file] = stub;
}

function dockerodeDir(): string | undefined {
  try {
    return path.dirname(require.resolve('dockerode/package.json'));
  } catch {
    return undefined;
  }
}

/**
 * docker-modem loads ssh2 at start for `ssh://` Docker endpoints, which docker-cri never accepts
 * (see parseDockerEndpoint). ssh2 and its crypto tables stay resident: about 12 MiB of a node
 * that otherwise idles near 50 MiB.
 */
export function keepSsh2Unloaded(): void {
  const dockerode = dockerodeDir();
  if (!dockerode) return;
  let ssh2: string;
  try {
    const modem = path.dirname(require.resolve('docker-modem/package.json', { paths: [dockerode] }));
    ssh2 = require.resolve('ssh2', { paths: [modem] });
  } catch {
    return;
  }
  standIn(ssh2, {
    Client: class {
      constructor() {
        throw new Error('ssh:// Docker endpoints are not supported by docker-cri');
      }
    },
  });
}

/** What a build with a BuildKit session gets from the stand-in of dockerode's session module. */
export const BUILD_SESSION_UNSUPPORTED = 'BuildKit sessions (image builds) are not supported by docker-cri';

/**
 * dockerode loads @grpc/grpc-js and @grpc/proto-loader at start for BuildKit sessions, which only
 * image builds open; docker-cri builds no image and serves its own gRPC over node:http2
 * (grpc/h2-server.ts). Loaded, the two stay resident: 2.6 MiB of heap, 4.2 MiB of RSS (Node 26).
 */
export function keepBuildSessionUnloaded(): void {
  const dockerode = dockerodeDir();
  if (!dockerode) return;
  standIn(
    path.join(dockerode, 'lib', 'session.js'),
    (_docker: unknown, _auth: unknown, handler: (err: Error) => void) =>
      handler(new Error(BUILD_SESSION_UNSUPPORTED)),
  );
}

keepSsh2Unloaded();
keepBuildSessionUnloaded();
