import Module from 'module';
import path from 'path';

/**
 * docker-modem loads ssh2 at start for `ssh://` Docker endpoints, which docker-cri never accepts
 * (see parseDockerEndpoint). ssh2 and its crypto tables stay resident: about 12 MiB of a node
 * that otherwise idles near 50 MiB. Registering a stand-in under ssh2's resolved path before
 * dockerode loads keeps it out; if ssh were ever reached, the stand-in says why it is missing.
 * Only the binary does this (main.ts); library users and tests load the real module.
 */
export function keepSsh2Unloaded(): void {
  let ssh2: string;
  try {
    const dockerode = path.dirname(require.resolve('dockerode/package.json'));
    const modem = path.dirname(require.resolve('docker-modem/package.json', { paths: [dockerode] }));
    ssh2 = require.resolve('ssh2', { paths: [modem] });
  } catch {
    return;
  }
  if (require.cache[ssh2]) return;
  const stub = new Module(ssh2);
  stub.filename = ssh2;
  stub.loaded = true;
  stub.exports = {
    Client: class {
      constructor() {
        throw new Error('ssh:// Docker endpoints are not supported by docker-cri');
      }
    },
  };
  require.cache[ssh2] = stub;
}

keepSsh2Unloaded();
