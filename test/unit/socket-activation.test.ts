import fs from 'fs';
import os from 'os';
import path from 'path';
import { defaultConfig } from '../../src/config';
import { CniNetwork, DEBIAN_CNI_DIR } from '../../src/network/cni-network';
import { listenTarget } from '../../src/server';
import { takeHandedSocket } from '../../src/socket-activation';

describe('socket activation (sd_listen_fds)', () => {
  it('takes fd 3 when LISTEN_PID is this process, and clears the variables', () => {
    const env: NodeJS.ProcessEnv = { LISTEN_FDS: '1', LISTEN_PID: '4242', LISTEN_FDNAMES: 'cri' };
    expect(takeHandedSocket(env, 4242)).toBe(3);
    expect(env).toEqual({});
  });

  it.each([
    [{ LISTEN_FDS: '1', LISTEN_PID: '1' }],
    [{ LISTEN_FDS: '0', LISTEN_PID: '4242' }],
    [{ LISTEN_FDS: 'x', LISTEN_PID: '4242' }],
    [{ LISTEN_FDS: '1' }],
    [{}],
  ])('takes nothing from %j (inherited or empty), clearing it all the same', (vars) => {
    const env: NodeJS.ProcessEnv = { ...vars };
    expect(takeHandedSocket(env, 4242)).toBeUndefined();
    expect(env).toEqual({});
  });

  it('serves a handed socket whatever the endpoint says; fd:// needs one; unix:// binds its path', () => {
    const handed = { LISTEN_FDS: '1', LISTEN_PID: String(process.pid) };
    expect(listenTarget('unix:///run/docker-cri.sock', { ...handed })).toEqual({ kind: 'fd', fd: 3 });
    expect(listenTarget('fd://', { ...handed })).toEqual({ kind: 'fd', fd: 3 });
    expect(() => listenTarget('fd://', {})).toThrow(/needs a socket handed over by systemd/);
    expect(listenTarget('unix:///tmp/x.sock', {})).toEqual({ kind: 'path', path: '/tmp/x.sock' });
  });
});

describe('--cni-bin-dir', () => {
  it("takes cri-dockerd's comma-separated list", () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dcri-cni-bin-'));
    try {
      const net = new CniNetwork({
        ...defaultConfig({}),
        rootDirectory: root,
        cniBinDir: '/opt/cni/bin, /usr/local/cni',
      });
      expect(net.binDirs).toEqual(['/opt/cni/bin', '/usr/local/cni', DEBIAN_CNI_DIR]);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
