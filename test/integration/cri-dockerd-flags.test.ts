import { execFile, spawn, type ChildProcess } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { promisify } from 'util';
import { MAIN } from '../support/binary-shim';
import { CriClient } from '../support/cri-client';
import { cgroupDirs, parseProcCgroup } from '../../src/process/runtime-cgroup';

const execFileP = promisify(execFile);

/** Waits for `cond` on a child's output, failing with that output when the child ends first. */
async function waitFor(child: ChildProcess, out: () => string, cond: (s: string) => boolean): Promise<void> {
  const until = Date.now() + 60_000;
  while (!cond(out())) {
    if (child.exitCode !== null || Date.now() > until) throw new Error(`not seen; output:\n${out()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function jsonLines(text: string): Array<Record<string, unknown>> {
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe("docker-cri started with cri-dockerd's unit flags", () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'dcri-flags-'));
  const socket = path.join(work, 'cri-dockerd.sock');
  const root = path.join(work, 'root');
  const cniConf = path.join(work, 'net.d');
  fs.mkdirSync(cniConf);
  // Below our own memory cgroup, so the test never moves anything out of the limits it runs under.
  const own = parseProcCgroup(fs.readFileSync('/proc/self/cgroup', 'utf8'));
  const memory = own.find((m) => m.controllers.includes('memory'))?.path ?? '/';
  const cgroupName = path.posix.join(memory, `docker-cri-flags-${process.pid}`);
  const created: string[] = [];
  let child: ChildProcess | undefined;

  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGKILL');
      await new Promise((r) => child!.once('exit', r));
    }
    // The cgroups the run created, deepest first, now that their only process is gone.
    for (const dir of created.sort((x, y) => y.length - x.length)) {
      try {
        fs.rmdirSync(dir);
      } catch {
        // still in use or gone: nothing of ours to remove
      }
    }
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('serves the handed socket (fd://) to a client that connected first, warning once per flag without effect', async () => {
    for (const dir of cgroupDirs(own, cgroupName)) {
      // remember every level the run will create, to remove exactly those
      for (let d = dir; !fs.existsSync(d); d = path.dirname(d)) created.push(d);
    }
    const flags = [
      '--container-runtime-endpoint',
      'fd://',
      '--pod-infra-container-image=registry.k8s.io/pause:3.10',
      '--network-plugin=cni',
      '--hairpin-mode=hairpin-veth',
      `--cni-conf-dir=${cniConf}`,
      '--cni-bin-dir=/opt/cni/bin',
      `--cni-cache-dir=${path.join(work, 'cni-cache')}`,
      `--cri-dockerd-root-directory=${root}`,
      `--docker-endpoint=${process.env.DOCKER_HOST}`,
      '--image-pull-progress-deadline=1m0s',
      '--ipv6-dual-stack',
      '--log-level=info',
      '--network-plugin-mtu=1450',
      '--pod-cidr=10.244.0.0/16',
      `--runtime-cgroups=${cgroupName}`,
      '--runtime-request-timeout=2m0s',
      '--streaming-bind-addr=127.0.0.1',
    ];
    let output = '';
    // systemd-socket-activate listens first and starts the program only on the first connection,
    // handing the socket over as fd 3 with LISTEN_FDS/LISTEN_PID, as a .socket unit does.
    child = spawn('systemd-socket-activate', ['-l', socket, process.execPath, MAIN, ...flags], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    await waitFor(
      child,
      () => output,
      (s) => s.includes('Listening on'),
    );
    expect(output).not.toContain('serving CRI');

    const client = new CriClient(socket);
    try {
      const version = await client.rt<{ runtime_name: string }>('Version', {});
      expect(version.runtime_name).toBe('docker');
    } finally {
      client.close();
    }
    const lines = jsonLines(output);
    expect(lines.some((l) => l.message === 'serving CRI on the socket systemd handed over')).toBe(true);
    const noEffect = lines
      .filter((l) => l.level === 'warn' && /has no effect/.test(String(l.message)))
      .map((l) => String(l.message).split(' ')[0])
      .sort();
    expect(noEffect).toEqual(['--hairpin-mode', '--ipv6-dual-stack', '--network-plugin-mtu']);

    // --runtime-cgroups: the program's own pid is in that cgroup in every v1 controller hierarchy
    const pid = child.pid!;
    const now = parseProcCgroup(fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8'));
    for (const m of now.filter((x) => x.controllers.length > 0 && !x.controllers[0].startsWith('name='))) {
      expect(`${m.controllers.join(',')}:${m.path}`).toBe(`${m.controllers.join(',')}:${cgroupName}`);
    }
    for (const dir of cgroupDirs(own, cgroupName)) {
      expect(fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n')).toContain(String(pid));
    }
    // --pod-cidr with cni, kept in --cri-dockerd-root-directory (the same setting as --root-directory)
    expect(JSON.parse(fs.readFileSync(path.join(root, 'network/pod-cidr.json'), 'utf8'))).toEqual({
      podCidrs: ['10.244.0.0/16'],
    });

    // SIGTERM: a handed socket is the .socket unit's and stays where it is
    const exited = new Promise<number | null>((r) => child!.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(fs.statSync(socket).isSocket()).toBe(true);
  });

  it.each([
    ['--runtime-request-timeout=soon', /--runtime-request-timeout .*"soon"/],
    ['--image-pull-progress-deadline=1x', /--image-pull-progress-deadline .*"1x"/],
    ['--hairpin-mode=sideways', /--hairpin-mode .*"sideways"/],
    ['--network-plugin-mtu=big', /--network-plugin-mtu .*"big"/],
  ])('exits 2 on %s, naming the flag and the value', async (flag, msg) => {
    const err = await execFileP(process.execPath, [MAIN, flag]).then(
      () => undefined,
      (e: { code: number; stderr: string }) => e,
    );
    expect(err?.code).toBe(2);
    expect(err?.stderr).toMatch(msg);
  });

  it('exits 1 with a clear message on fd:// when no socket was handed over', async () => {
    const err = await execFileP(process.execPath, [
      MAIN,
      '--container-runtime-endpoint=fd://',
      `--root-directory=${path.join(work, 'root2')}`,
    ]).then(
      () => undefined,
      (e: { code: number; stderr: string }) => e,
    );
    expect(err?.code).toBe(1);
    expect(err?.stderr).toMatch(/needs a socket handed over by systemd/);
  });

  it('prints --buildinfo like cri-dockerd', async () => {
    const { stdout } = await execFileP(process.execPath, [MAIN, '--buildinfo']);
    expect(stdout).toMatch(/^Program: docker-cri\nVersion: \S+\nGitCommit: \S+\nNode.js version: v\d+/);
    expect(stdout).toMatch(/\nNode.js flags: .*\n$/);
  });
});
