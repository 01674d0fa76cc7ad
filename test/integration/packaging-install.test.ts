import { execFile, execFileSync, spawn, type ChildProcess } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { promisify } from 'util';
import YAML from 'yaml';
import { CriClient } from '../support/cri-client';
import { helpFlags, readmeFlagTable } from '../support/flag-table';
import { parseUnit, splitCommand, values } from '../support/systemd-unit';

/**
 * The node path of the README: scripts/install.sh puts the program, the binary and the systemd
 * unit in place, and docker-cri starts from the installed unit's ExecStart line as written. There
 * is no systemd on the test machine, so the test reads the unit the way systemd would and runs the
 * command itself.
 */
const ROOT = path.resolve(__dirname, '../..');
const run = promisify(execFile);
const UNIT = 'docker-cri.service';

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
}

describe('scripts/install.sh and the systemd unit', () => {
  let dir: string;
  let prefix: string;
  let systemdDir: string;
  const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT }).toString().trim();

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dcri-install-'));
    prefix = path.join(dir, 'usr');
    systemdDir = path.join(dir, 'systemd');
    await run('bash', [path.join(ROOT, 'scripts/install.sh')], {
      env: { ...process.env, PREFIX: prefix, SYSTEMD_DIR: systemdDir },
      timeout: 300_000,
      maxBuffer: 16 << 20,
    });
  }, 300_000);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('installs a binary that prints version, commit and CRI API version without a checkout', async () => {
    const bin = path.join(prefix, 'bin/docker-cri');
    const { stdout } = await run(bin, ['--version'], { cwd: os.tmpdir() });
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(stdout.trim()).toBe(`docker-cri ${pkg.version} (commit ${commit}, CRI v1)`);
    // on the pinned Node.js (the one these tests run on) installed beside it, whatever node the PATH has
    const node = path.join(prefix, 'lib/docker-cri/bin/node');
    expect(fs.readFileSync(bin, 'utf8')).toContain(`\nexec "${node}" `);
    expect((await run(node, ['--version'])).stdout.trim()).toBe(process.version);
    // only production dependencies travel
    expect(fs.existsSync(path.join(prefix, 'lib/docker-cri/node_modules/@grpc/grpc-js'))).toBe(true);
    expect(fs.existsSync(path.join(prefix, 'lib/docker-cri/node_modules/typescript'))).toBe(false);
    expect(fs.existsSync(path.join(prefix, 'lib/docker-cri/proto/runtime/v1/api.proto'))).toBe(true);
    // the pause fallback's source sits where docker-cri looks for it, prebuilt on this gcc host
    expect(fs.existsSync(path.join(prefix, 'lib/docker-cri/shims/pause/pause.c'))).toBe(true);
    expect(fs.statSync(path.join(prefix, 'lib/docker-cri/shims/pause/pause')).mode & 0o111).not.toBe(0);
  });

  it('--help of the installed binary agrees with the README flag table', async () => {
    const { stdout } = await run(path.join(prefix, 'bin/docker-cri'), ['--help']);
    const readme = readmeFlagTable(fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8'));
    expect(Object.fromEntries(readme)).toEqual(Object.fromEntries(helpFlags(stdout)));
  });

  it('refuses unknown flags with exit code 2 and a message', async () => {
    const err = await run(path.join(prefix, 'bin/docker-cri'), ['--no-such-flag']).then(
      () => undefined,
      (e: { code: number; stderr: string }) => e,
    );
    expect(err?.code).toBe(2);
    expect(err?.stderr).toContain('unknown flag --no-such-flag');
  });

  it('installs the unit: ordered after and requiring docker, restarted on failure, pointing at PREFIX', () => {
    const installed = fs.readFileSync(path.join(systemdDir, UNIT), 'utf8');
    const source = fs.readFileSync(path.join(ROOT, 'shims/systemd', UNIT), 'utf8');
    expect(installed).toBe(source.replaceAll('/usr/local/', `${prefix}/`));
    const unit = parseUnit(installed);
    expect(values(unit, 'Unit', 'After').join(' ').split(/\s+/)).toContain('docker.service');
    expect(values(unit, 'Unit', 'Requires').join(' ').split(/\s+/)).toContain('docker.service');
    expect(values(unit, 'Service', 'Restart')).toEqual(['on-failure']);
    expect(values(unit, 'Install', 'WantedBy')).toEqual(['multi-user.target']);
    expect(values(unit, 'Service', 'ExecStart')).toHaveLength(1);
  });

  it('starts docker-cri from the installed ExecStart line as written, which serves CRI and stops on SIGTERM', async () => {
    const unit = parseUnit(fs.readFileSync(path.join(systemdDir, UNIT), 'utf8'));
    const argv = splitCommand(values(unit, 'Service', 'ExecStart')[0]);
    expect(argv[0]).toBe(path.join(prefix, 'bin/docker-cri'));

    // Only what points at this node's real paths and ports changes; every other flag stays as written.
    const sock = path.join(dir, 'cri.sock');
    const substitute: Record<string, string> = {
      '--container-runtime-endpoint': `unix://${sock}`,
      '--docker-endpoint': process.env.DOCKER_HOST!,
      '--root-directory': path.join(dir, 'root'),
      // a fixed port may be taken on a shared test machine
      '--streaming-bind-addr': '127.0.0.1:0',
    };
    const args = argv.slice(1);
    for (let i = 0; i < args.length - 1; i++) {
      const flag = args[i];
      if (flag in substitute) args[++i] = substitute[flag];
    }
    expect(args).toEqual(
      expect.arrayContaining(['--pod-infra-container-image', '--network-plugin', '--log-level']),
    );

    let out = '';
    const child = spawn(argv[0], args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    const client = new CriClient(sock);
    try {
      const until = Date.now() + 30_000;
      while (!out.includes('serving CRI')) {
        if (child.exitCode !== null || Date.now() > until)
          throw new Error(`docker-cri did not start:\n${out}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const v = await client.rt<{ runtime_name: string; runtime_api_version: string }>('Version');
      expect(v).toMatchObject({ runtime_name: 'docker', runtime_api_version: 'v1' });
      const st = await client.rt<{ status: { conditions: Array<{ type: string; status: boolean }> } }>(
        'Status',
      );
      expect(st.status.conditions).toContainEqual(
        expect.objectContaining({ type: 'RuntimeReady', status: true }),
      );

      // shims/kubelet: the kubelet's endpoint is the unit's, and cgroup-driver.sh names Docker's driver
      const kubelet = YAML.parse(
        fs.readFileSync(path.join(ROOT, 'shims/kubelet/kubelet-config.yaml'), 'utf8'),
      ) as {
        containerRuntimeEndpoint: string;
        cgroupDriver: string;
      };
      expect(kubelet.containerRuntimeEndpoint).toBe(argv[argv.indexOf('--container-runtime-endpoint') + 1]);
      const rc = await client.rt<{ linux: { cgroup_driver: string } }>('RuntimeConfig');
      const { stdout: driver } = await run('bash', [path.join(ROOT, 'shims/kubelet/cgroup-driver.sh')]);
      expect(driver.trim().toUpperCase()).toBe(rc.linux.cgroup_driver);
    } finally {
      client.close();
      child.kill('SIGTERM');
    }
    // systemd's stop: SIGTERM, then a clean exit (no restart under Restart=on-failure) and no socket left.
    expect(await exited(child)).toBe(0);
    expect(fs.existsSync(sock)).toBe(false);
  });
});
