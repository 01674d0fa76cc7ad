import { execFile, spawn, type ChildProcess } from 'child_process';
import fs from 'fs';
import net from 'net';
import os from 'os';
import path from 'path';
import { promisify } from 'util';
import { CriClient } from '../support/cri-client';
import { podConfig, sweepWithDocker, testDocker, TEST_OWNER } from '../support/pod-config';
import { parseUnit, splitCommand, values } from '../support/systemd-unit';
import { EM_AARCH64, EM_X86_64, readElf } from '../support/elf';
import { PORT_RELAY_FLAG } from '../../src/streaming/pod-dialer';

/**
 * The operator's path of the README: `npm run package` builds the .deb, dpkg installs it, docker-cri
 * starts from the installed unit's ExecStart line as written (there is no systemd here: the test
 * runs the command itself, with settings in the conffile as an operator would write them), and
 * `dpkg --purge` takes everything away again while pods keep running.
 */
const ROOT = path.resolve(__dirname, '../..');
const run = promisify(execFile);
const PKG = 'docker-cri';
// Port 1 on loopback: nothing listens, so the pull fails at once and the packaged pause program is used.
const OFFLINE_PAUSE = `127.0.0.1:1/dcri-deb-pause-${TEST_OWNER}:offline`;

/** dpkg, retried while another apt/dpkg on this shared machine holds its lock. */
async function dpkg(args: string[]): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    try {
      const { stdout } = await run('dpkg', args, { maxBuffer: 16 * 1024 * 1024 });
      return stdout;
    } catch (err) {
      const e = err as { stderr?: string };
      if (attempt < 60 && /lock/i.test(e.stderr ?? '')) {
        await new Promise((r) => setTimeout(r, 2000));
        continue;
      }
      throw err;
    }
  }
}

/** The first JSON log entry in `out` with this message (docker-cri logs one JSON object a line). */
function logEntry(out: string, message: string): Record<string, unknown> | undefined {
  return out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .find((l) => l.message === message);
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
}

describe('the .deb', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dcri-deb-'));
  let deb = '';
  let files: string[] = [];
  let version = '';
  const debOf = (arch: string): string => path.join(ROOT, `dist/docker-cri_${version}_${arch}.deb`);
  const filesOf = async (pkg: string): Promise<string[]> =>
    (await run('dpkg-deb', ['-c', pkg], { maxBuffer: 16 * 1024 * 1024 })).stdout
      .split('\n')
      .map((l) => l.trim().split(/\s+/).pop() ?? '')
      .filter((p) => p.startsWith('./') && !p.endsWith('/'))
      .map((p) => p.slice(1));
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    await run('bash', [path.join(ROOT, 'scripts/package.sh')], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 });
    ({ version } = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      version: string;
    });
    deb = debOf('amd64');
    // every path the package holds (directories shared with the system end with /)
    files = await filesOf(deb);
  }, 600_000);

  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGKILL');
      await exited(child);
    }
    // never leave the package on the machine, whatever failed
    await dpkg(['--purge', PKG]).catch(() => undefined);
    await sweepWithDocker();
    await testDocker()
      .getImage(OFFLINE_PAUSE)
      .remove({ force: true })
      .catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('holds what the issue lists, with a conffile and the dependency on Docker', async () => {
    expect(files).toEqual(
      expect.arrayContaining([
        '/usr/bin/docker-cri',
        '/usr/lib/docker-cri/pause/pause',
        '/lib/systemd/system/docker-cri.service',
        '/lib/systemd/system/docker-cri.socket',
        '/etc/docker-cri/config.yaml',
        '/usr/share/doc/docker-cri/README.md',
        '/usr/share/doc/docker-cri/crictl.yaml',
        '/usr/share/doc/docker-cri/kubelet/kubelet-config.yaml',
      ]),
    );
    const { stdout: control } = await run('dpkg-deb', ['-f', deb, 'Depends']);
    const depends = control.trim().split(/,\s*/);
    expect(depends).toContain('docker.io | docker-ce | docker-engine');
    // Every shared library the executable loads comes from a package the .deb depends on: a node
    // with only what Depends brings must be able to start it (Node 26 links libatomic, which a
    // minimal Debian lacks).
    const { stdout: libs } = await run('ldd', ['dist/sea/docker-cri']);
    const paths = [...libs.matchAll(/=> (\/\S+)/g)].map((m) => m[1]);
    expect(paths.length).toBeGreaterThan(0);
    const named = new Set(depends.map((d) => d.split(/[\s(]/)[0]));
    // dpkg knows a file by the path its package installed it at: the one ldd names, or, for
    // a symlink to a versioned file or across the merged /usr, the file itself.
    const ownerOf = (p: string): Promise<string> =>
      run('dpkg', ['-S', p])
        .catch(() => run('dpkg', ['-S', fs.realpathSync(p)]))
        .then((r) => r.stdout);
    for (const p of paths) {
      const pkg = (await ownerOf(p)).split(':')[0].trim();
      expect({ lib: p, pkg, inDepends: named.has(pkg) }).toEqual({ lib: p, pkg, inDepends: true });
    }
    const { stdout: conffiles } = await run('dpkg-deb', ['--info', deb, 'conffiles']);
    expect(conffiles.trim()).toBe('/etc/docker-cri/config.yaml');
  });

  it('has an arm64 twin: same files, Architecture arm64, an aarch64 executable carrying the same bundle on the same Node.js, a static aarch64 pause', async () => {
    const arm = debOf('arm64');
    expect(await filesOf(arm)).toEqual(files);
    for (const [pkg, arch] of [
      [deb, 'amd64'],
      [arm, 'arm64'],
    ]) {
      const { stdout } = await run('dpkg-deb', ['-f', pkg, 'Package', 'Version', 'Architecture']);
      expect(stdout).toBe(`Package: docker-cri\nVersion: ${version}\nArchitecture: ${arch}\n`);
    }
    const unpack = async (pkg: string, arch: string) => {
      const to = path.join(dir, `unpacked-${arch}`);
      await run('dpkg-deb', ['-x', pkg, to]);
      return {
        exe: path.join(to, 'usr/bin/docker-cri'),
        bin: readElf(fs.readFileSync(path.join(to, 'usr/bin/docker-cri'))),
        pause: readElf(fs.readFileSync(path.join(to, 'usr/lib/docker-cri/pause/pause'))),
      };
    };
    const amd64 = await unpack(deb, 'amd64');
    const arm64 = await unpack(arm, 'arm64');
    expect([amd64.bin.machine, amd64.pause.machine]).toEqual([EM_X86_64, EM_X86_64]);
    expect([arm64.bin.machine, arm64.pause.machine]).toEqual([EM_AARCH64, EM_AARCH64]);
    expect([amd64.pause.dynamic, arm64.pause.dynamic]).toEqual([false, false]);
    // The bundle postject injected (a note named NODE_SEA_BLOB): the same bytes in both.
    const blob = amd64.bin.notes.get('NODE_SEA_BLOB');
    expect(blob?.length).toBeGreaterThan(100_000);
    expect(arm64.bin.notes.get('NODE_SEA_BLOB')?.equals(blob!)).toBe(true);

    // What ships runs the Node.js these tests run on (the pinned one), on both architectures:
    // the arm64 one under qemu's user-mode emulation with Debian's arm64 libraries.
    const nodeLine = `Node.js version: ${process.version}\n`;
    const amdInfo = (await run(amd64.exe, ['--buildinfo'])).stdout;
    expect(amdInfo).toContain(nodeLine);
    // And under the node flags every launcher uses, built in (V8 refuses some in NODE_OPTIONS).
    const flags = fs.readFileSync(path.join(ROOT, 'shims/node-options'), 'utf8').trim();
    expect(amdInfo).toContain(`Node.js flags: ${flags}\n`);
    // An operator's NODE_OPTIONS still adds to them (the README says so).
    const probeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dcri-node-options-'));
    try {
      const probe = path.join(probeDir, 'probe.js');
      fs.writeFileSync(probe, `require('fs').writeFileSync(${JSON.stringify(`${probe}.ran`)}, '');\n`);
      await run(amd64.exe, ['--buildinfo'], { env: { ...process.env, NODE_OPTIONS: `--require=${probe}` } });
      expect(fs.existsSync(`${probe}.ran`)).toBe(true);
    } finally {
      fs.rmSync(probeDir, { recursive: true, force: true });
    }
    const { stdout: armInfo } = await run(
      'qemu-aarch64-static',
      ['-L', '/usr/aarch64-linux-gnu', arm64.exe, '--buildinfo'],
      { timeout: 120_000 },
    );
    expect(armInfo).toContain(`Version: ${version}\n`);
    expect(armInfo).toContain(nodeLine);
  });

  it('leaves @grpc/grpc-js and @grpc/proto-loader out: not in the bundle, never loaded by node running dist/', async () => {
    // The single executable bundles a stub for both (scripts/package-sea.sh); grpc-js's own error
    // texts would be in the bundle if any of its code were.
    const bundle = fs.readFileSync(path.join(ROOT, 'dist/sea/docker-cri.js'), 'utf8');
    expect(bundle).toContain('BuildKit sessions (image builds) are not supported by docker-cri');
    expect(bundle).not.toContain('Received RST_STREAM with code');
    expect(bundle).not.toContain('grpc.max_receive_message_length');
    // node running dist/: lean-require's stand-in for dockerode's session module keeps both out,
    // and an image build with a BuildKit session says why it cannot start.
    const script = [
      "require('./dist/src/lean-require.js');",
      "const Docker = require('dockerode');",
      "const d = new Docker({ socketPath: '/nonexistent.sock' });",
      "const loaded = Object.keys(require.cache).filter((k) => k.includes('@grpc')).length;",
      "d.buildImage({ context: '.', src: [] }, { version: '2' }, (err) => { console.log(JSON.stringify({ loaded, err: err && err.message })); });",
    ].join('\n');
    const { stdout } = await run(process.execPath, ['-e', script], { cwd: ROOT });
    expect(JSON.parse(stdout)).toEqual({
      loaded: 0,
      err: 'BuildKit sessions (image builds) are not supported by docker-cri',
    });
  });

  it('its executable is its own port-forward relay (a single executable has no node -e)', async () => {
    // What nsenter runs inside a pod's network namespace for each port-forward connection
    // (src/streaming/pod-dialer.ts), here without the namespace.
    const server = net.createServer((c) => c.on('data', (d) => c.end(`echo:${String(d)}`)));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as net.AddressInfo;
    try {
      const child = spawn(path.join(ROOT, 'dist/sea/docker-cri'), [PORT_RELAY_FLAG, String(port)], {
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout!.on('data', (d) => (out += String(d)));
      child.stderr!.on('data', (d) => (out += String(d)));
      child.stdin!.write('ping');
      const code = await new Promise<number | null>((r) => child.on('close', r));
      expect({ code, out }).toEqual({ code: 0, out: 'echo:ping' });
    } finally {
      server.close();
    }
  });

  it('installs, serves Version and RunPodSandbox from the unit as written with no node on PATH, and purges clean', async () => {
    await dpkg(['-i', deb]);
    for (const f of files) expect(fs.existsSync(f)).toBe(true);

    const socketUnit = parseUnit(fs.readFileSync('/lib/systemd/system/docker-cri.socket', 'utf8'));
    expect(values(socketUnit, 'Socket', 'ListenStream')).toEqual(['/run/docker-cri.sock']);
    expect(values(socketUnit, 'Socket', 'SocketMode')).toEqual(['0660']);
    expect(values(socketUnit, 'Socket', 'SocketGroup')).toEqual(['docker']);
    // Not PartOf the service: a restart (or an upgrade's try-restart) of docker-cri keeps the socket,
    // so the kubelet's connections queue instead of being refused.
    expect(values(socketUnit, 'Unit', 'PartOf')).toEqual([]);
    const unit = parseUnit(fs.readFileSync('/lib/systemd/system/docker-cri.service', 'utf8'));
    const argv = splitCommand(values(unit, 'Service', 'ExecStart')[0]);
    expect(argv).toEqual(['/usr/bin/docker-cri', '--config', '/etc/docker-cri/config.yaml']);

    // The operator's edit of the conffile: this machine's test engine, a socket of the test's own.
    const sock = path.join(dir, 'cri.sock');
    fs.writeFileSync(
      '/etc/docker-cri/config.yaml',
      [
        `container-runtime-endpoint: unix://${sock}`,
        `docker-endpoint: ${process.env.DOCKER_HOST}`,
        `root-directory: ${path.join(dir, 'root')}`,
        'streaming-bind-addr: 127.0.0.1:0',
        `pod-infra-container-image: ${OFFLINE_PAUSE}`,
        // for the memory reclaim's record, which is logged at debug
        'log-level: debug',
        '',
      ].join('\n'),
    );
    // A node without Node.js: nothing called node on the PATH the executable runs with.
    const env = { PATH: '/usr/sbin:/sbin', LANG: 'C' };
    const which = await run('sh', ['-c', 'command -v node'], { env }).then(
      () => 'found',
      () => 'none',
    );
    expect(which).toBe('none');

    const { stdout: version } = await run(argv[0], ['--version'], { env });
    expect(version).toMatch(/^docker-cri \d+\.\d+\.\d+ \(commit \S+, CRI v1\)\n$/);
    const { stdout: help } = await run(argv[0], ['--help'], { env });
    expect(help).toContain('--container-runtime-endpoint');
    // the pause program beside the executable is a static binary (no loader on a minimal image)
    const pause = fs.readFileSync('/usr/lib/docker-cri/pause/pause');
    expect(pause.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    expect(pause.includes(Buffer.from('/lib64/ld-linux'))).toBe(false);

    let out = '';
    child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env });
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    const client = new CriClient(sock);
    let sandboxId: string | undefined;
    try {
      const until = Date.now() + 60_000;
      while (!out.includes('serving CRI')) {
        if (child.exitCode !== null || Date.now() > until)
          throw new Error(`docker-cri did not start:\n${out}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      expect((fs.statSync(sock).mode & 0o777).toString(8)).toBe('660');
      const v = await client.rt<{ runtime_name: string; runtime_api_version: string }>('Version');
      expect(v).toMatchObject({ runtime_name: 'docker', runtime_api_version: 'v1' });
      // Start-up counts as a burst of changes (the README): a few seconds after it is up, with no
      // change asked for, the installed executable gives back the pages of itself that start-up
      // read, and the kernel takes the advice for every range.
      const pageOutBy = Date.now() + 30_000;
      let pageOut: { ranges?: number; refused?: number; residentKiB?: number } | undefined;
      while (!pageOut) {
        pageOut = logEntry(out, 'executable pages given back');
        if (!pageOut && (child.exitCode !== null || Date.now() > pageOutBy))
          throw new Error(`no page-out after start-up:\n${out}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(pageOut.ranges).toBeGreaterThan(0);
      expect(pageOut.refused).toBe(0);
      expect(pageOut.residentKiB).toBeGreaterThan(0);
      // The single executable finds node's own pool of HTTP parsers and bounds it before its first
      // Docker call (src/process/http-parser-pool.ts): a bundle that lost the built-in would log no
      // bound and keep up to 1000 parsers after a burst.
      expect(logEntry(out, 'HTTP parser pool bounded')).toMatchObject({ max: 32, was: 1000 });
      const config = podConfig('deb');
      ({ pod_sandbox_id: sandboxId } = await client.rt<{ pod_sandbox_id: string }>('RunPodSandbox', {
        config,
      }));
      expect(sandboxId).toMatch(/^[0-9a-f]{64}$/);
      // the pause image could not be pulled: built offline from the program the package ships
      const img = await testDocker().getImage(OFFLINE_PAUSE).inspect();
      expect(img.Config.Labels?.['io.docker-cri.built-from']).toBe('shims/pause');
      expect(out).toContain('/usr/lib/docker-cri/pause/pause');
    } finally {
      client.close();
      child.kill('SIGTERM');
    }
    expect(await exited(child)).toBe(0);

    // The same ExecStart under the .socket unit's hand-over (systemd-socket-activate passes fd 3 the
    // way systemd does, at a path of the test's own): served, and the socket stays after SIGTERM.
    const handed = path.join(dir, 'handed.sock');
    out = '';
    // by its full path: the PATH given has only sbin directories
    const activate = (await run('sh', ['-c', 'command -v systemd-socket-activate'])).stdout.trim();
    child = spawn(activate, ['-l', handed, ...argv], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env,
    });
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    while (!out.includes('Listening on')) {
      if (child.exitCode !== null) throw new Error(`systemd-socket-activate ended:\n${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const activated = new CriClient(handed);
    try {
      const v = await activated.rt<{ runtime_name: string }>('Version');
      expect(v.runtime_name).toBe('docker');
      // SIGTERM while the client is still connected, as a kubelet always is: it must still exit.
      child.kill('SIGTERM');
      expect(await exited(child)).toBe(0);
    } finally {
      activated.close();
      child.kill('SIGTERM');
    }
    expect(out).toContain('serving CRI on the socket systemd handed over');
    expect(fs.statSync(handed).isSocket()).toBe(true);

    await dpkg(['--purge', PKG]);
    for (const f of files) expect(fs.existsSync(f)).toBe(false);
    for (const d of [
      '/etc/docker-cri',
      '/usr/lib/docker-cri',
      '/usr/share/doc/docker-cri',
      '/var/lib/docker-cri',
    ]) {
      expect(fs.existsSync(d)).toBe(false);
    }
    const status = await dpkg(['-s', PKG]).then(
      (s) => s,
      () => 'not installed',
    );
    expect(status).not.toMatch(/^Status: install/m);
    // the pod made while it was installed keeps running: its containers are Docker's
    expect((await testDocker().getContainer(sandboxId!).inspect()).State.Running).toBe(true);
  });
});
