import { execFile } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { promisify } from 'util';
import { CriClient } from '../support/cri-client';
import {
  OWNER_LABEL,
  podConfig,
  sweepWithDocker,
  testDocker,
  TEST_OWNER,
  testEngineSocket,
} from '../support/pod-config';

/**
 * The .deb under a real systemd: a Debian 12 system container (PID 1 is systemd; root filesystem
 * from scripts/build-systemd-rootfs.sh, cached in the state directory) with the test engine's socket
 * at /var/run/docker.sock, so the docker-cri the package installs there runs its pods on the test
 * engine. The package goes through an operator's life: enable the socket, first call wakes the
 * service, a crash, a stop, an upgrade over an edited conffile, a purge.
 *
 * The container has every capability the machine has and a private cgroup namespace, whose
 * hierarchies it remounts read-write before it execs systemd; not --privileged, so /dev, /proc/sys
 * and /sys stay the container's own (read-only where Docker makes them so), and the image masks
 * the units that would act on the host's kernel anyway (scripts/build-systemd-rootfs.sh).
 *
 * No Debian 12 package has crictl (cri-tools is not in bookworm): the client is the test's own,
 * on the socket systemd holds inside the container, reached through /proc/<pid>/root.
 */
const ROOT = path.resolve(__dirname, '../..');
const run = promisify(execFile);
const ENGINE_SOCKET = testEngineSocket();
const BOX = `dcri-systemd-${TEST_OWNER}`;
const MOUNT = '/dcri-test';
const big = { maxBuffer: 64 * 1024 * 1024 };

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** The docker CLI on the test engine; never rejects, the caller reads the exit code. */
async function docker(args: string[]): Promise<Result> {
  try {
    const { stdout, stderr } = await run('docker', args, big);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** A command in the system container. */
const box = (...argv: string[]): Promise<Result> => docker(['exec', BOX, ...argv]);

/** A command in the system container that must succeed; its stdout. */
async function must(...argv: string[]): Promise<string> {
  const r = await box(...argv);
  if (r.code !== 0) {
    throw new Error(`${argv.join(' ')} exited ${r.code}:\n${r.stdout}${r.stderr}\n${await journal()}`);
  }
  return r.stdout;
}

/** docker-cri's units' journal, to say what happened when a check fails. */
async function journal(): Promise<string> {
  const r = await box(
    'journalctl',
    '--no-pager',
    '-n',
    '60',
    '-u',
    'docker-cri.service',
    '-u',
    'docker-cri.socket',
  );
  return `journal of docker-cri:\n${r.stdout}${r.stderr}`;
}

const prop = async (unit: string, name: string): Promise<string> =>
  (await must('systemctl', 'show', '-P', name, unit)).trim();
const activeState = (unit: string): Promise<string> => prop(unit, 'ActiveState');

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${await journal()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Writes the files of a package of the test's own (dpkg-deb builds it from the tree). */
function writeTree(dir: string, files: Record<string, { text: string; mode?: number }>): void {
  for (const [rel, { text, mode }] of Object.entries(files)) {
    const f = path.join(dir, rel);
    fs.mkdirSync(path.dirname(f), { recursive: true });
    fs.writeFileSync(f, text, { mode: mode ?? 0o644 });
  }
}

describe('the .deb under systemd (Debian 12 system container)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dcri-systemd-'));
  let version = '';
  let upgradeVersion = '';
  let socketPath = '';
  let sandboxId = '';
  let containerId = '';
  let logFile = '';
  const logDirs: string[] = [];

  /** A CRI client on the socket systemd listens on in the container; closed after `use`. */
  async function withClient<T>(use: (c: CriClient) => Promise<T>): Promise<T> {
    const c = new CriClient(socketPath);
    try {
      return await use(c);
    } finally {
      c.close();
    }
  }

  const listedPods = (): Promise<string[]> =>
    withClient(async (c) => {
      const res = await c.rt<{ items: Array<{ id: string; state: string }> }>('ListPodSandbox', {
        filter: { label_selector: { [OWNER_LABEL]: TEST_OWNER } },
      });
      return res.items.filter((p) => p.state === 'SANDBOX_READY').map((p) => p.id);
    });

  /** The pod's pause and app containers, as the engine outside sees them. */
  const podRunning = async (): Promise<boolean[]> =>
    Promise.all(
      [sandboxId, containerId].map(
        async (id) => (await testDocker().getContainer(id).inspect()).State.Running,
      ),
    );

  beforeAll(async () => {
    await run('bash', [path.join(ROOT, 'scripts/package.sh')], { cwd: ROOT, ...big });
    ({ version } = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      version: string;
    });
    fs.copyFileSync(
      path.join(ROOT, `dist/docker-cri_${version}_amd64.deb`),
      path.join(dir, 'docker-cri.deb'),
    );

    // The newer build: the same package, its control Version raised (a higher Debian version).
    upgradeVersion = `${version}+dcri.upgrade`;
    const unpacked = path.join(dir, 'upgrade');
    await run('dpkg-deb', ['-R', path.join(dir, 'docker-cri.deb'), unpacked]);
    const control = path.join(unpacked, 'DEBIAN/control');
    fs.writeFileSync(
      control,
      fs.readFileSync(control, 'utf8').replace(/^Version: .*$/m, `Version: ${upgradeVersion}`),
    );
    // uncompressed: dpkg takes it the same, and it is built in a fraction of the time
    await run('dpkg-deb', ['--root-owner-group', '-Znone', '-b', unpacked, path.join(dir, 'upgrade.deb')]);
    fs.rmSync(unpacked, { recursive: true, force: true });

    // docker-cri depends on docker.io | docker-ce | docker-engine and requires docker.service: the
    // engine here is the test engine outside, so a stand-in docker.io gives what the real one gives
    // the package (the docker group for the socket, a docker.service) and satisfies the dependency
    // honestly, where --force-depends would leave dpkg's database broken for the upgrade and purge.
    const stub = path.join(dir, 'stub');
    writeTree(stub, {
      'DEBIAN/control': {
        text: [
          'Package: docker.io',
          'Version: 0~dcri.test',
          'Architecture: all',
          'Maintainer: docker-cri tests <docker-cri@localhost>',
          "Description: stand-in for docker.io in docker-cri's systemd test",
          ' The engine is the test engine outside, its socket bind-mounted at /var/run/docker.sock.',
          '',
        ].join('\n'),
      },
      'DEBIAN/postinst': {
        text: '#!/bin/sh\nset -e\ngetent group docker >/dev/null || groupadd --system docker\n',
        mode: 0o755,
      },
      'lib/systemd/system/docker.service': {
        text: [
          '[Unit]',
          'Description=stand-in Docker Engine: the test engine, its socket bind-mounted',
          '[Service]',
          'Type=oneshot',
          'RemainAfterExit=yes',
          'ExecStart=/usr/bin/test -S /var/run/docker.sock',
          '',
        ].join('\n'),
      },
    });
    await run('dpkg-deb', ['--root-owner-group', '-b', stub, path.join(dir, 'docker-io-stub.deb')]);

    const tar = (await run('bash', [path.join(ROOT, 'scripts/build-systemd-rootfs.sh')], big)).stdout.trim();
    const repo = 'docker-cri-systemd-rootfs';
    const tag = path.basename(tar, '.tar');
    const image = `${repo}:${tag}`;
    if ((await docker(['image', 'inspect', image])).code !== 0) {
      const imported = await docker(['import', tar, image]);
      if (imported.code !== 0) throw new Error(`docker import: ${imported.stderr}`);
      // the images of older recipes are no use any more
      const tags = (await docker(['images', repo, '--format', '{{.Tag}}'])).stdout.split('\n');
      for (const old of tags.filter((t) => t && t !== tag)) await docker(['rmi', `${repo}:${old}`]);
    }

    // Every capability, not --privileged: systemd needs them (mounts, namespaces, cgroups), but a
    // privileged container would also get the host's /dev, a writable /sys and /proc/sys. Where the
    // machine's bounding set lacks CAP_SYS_RESOURCE (this one does), Docker 20.10 fails to apply ALL
    // ("unable to apply caps") while Docker 28 gives what there is: then ALL but that one.
    const runBox = (caps: string[]): Promise<Result> =>
      docker([
        'run',
        '-d',
        '--name',
        BOX,
        '--label',
        `${OWNER_LABEL}=${TEST_OWNER}`,
        ...caps,
        '--security-opt',
        'seccomp=unconfined',
        '--cgroupns',
        'private',
        '--network',
        'none',
        '--tmpfs',
        '/run',
        '--tmpfs',
        '/run/lock',
        '--tmpfs',
        '/tmp',
        '--stop-signal',
        'SIGRTMIN+3',
        '-v',
        `${ENGINE_SOCKET}:/var/run/docker.sock`,
        '-v',
        `${dir}:${MOUNT}:ro`,
        image,
        'sh',
        '-c',
        // Without --privileged Docker mounts the cgroup hierarchies read-only; systemd must write
        // its own (in the private namespace, only the container's cgroup is there to write).
        'if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then mount -o remount,bind,rw /sys/fs/cgroup || exit 1; ' +
          'else for m in /sys/fs/cgroup/*; do [ -L "$m" ] || mount -o remount,bind,rw "$m" || exit 1; done; fi; ' +
          'exec /sbin/init',
      ]);
    let started = await runBox(['--cap-add', 'ALL']);
    if (started.code !== 0 && /apply caps/.test(started.stderr)) {
      await docker(['rm', '-f', BOX]);
      started = await runBox(['--cap-add', 'ALL', '--cap-drop', 'SYS_RESOURCE']);
    }
    if (started.code !== 0) throw new Error(`docker run: ${started.stderr}`);
    const pid = (await docker(['inspect', '-f', '{{.State.Pid}}', BOX])).stdout.trim();
    socketPath = `/proc/${pid}/root/run/docker-cri.sock`;
    // the engine's processes must be this machine's for the socket to be reachable that way
    if (!fs.existsSync(`/proc/${pid}/root/sbin/init`)) {
      throw new Error(`the system container's PID ${pid} is not in this test's PID namespace`);
    }
    const state = await until('systemd to boot', async () => {
      const r = await box('systemctl', 'is-system-running');
      const s = r.stdout.trim();
      return s === 'running' || s === 'degraded' ? s : undefined;
    });
    if (state !== 'running')
      throw new Error(`systemd is ${state}:\n${(await box('systemctl', '--failed')).stdout}`);
  }, 900_000);

  afterAll(async () => {
    await docker(['rm', '-f', '-v', BOX]);
    // the pods docker-cri made on the test engine from inside the container
    await sweepWithDocker();
    fs.rmSync(dir, { recursive: true, force: true });
    for (const d of logDirs) fs.rmSync(d, { recursive: true, force: true });
  });

  it('installs beside a stand-in docker.io; enable --now docker-cri.socket listens while the service stays down', async () => {
    await must('dpkg', '-i', `${MOUNT}/docker-io-stub.deb`);
    await must('dpkg', '-i', `${MOUNT}/docker-cri.deb`);
    // postinst drops the executable dpkg just wrote from the page cache: read back from disk, it is
    // mapped page by page, not in the large folios of a fresh write (about 15 MiB more resident).
    const cached = (
      await must('fincore', '--bytes', '--noheadings', '--output', 'RES', '/usr/bin/docker-cri')
    ).trim();
    expect(Number(cached)).toBe(0);
    await must('systemctl', 'enable', '--now', 'docker-cri.socket');
    expect(await activeState('docker-cri.socket')).toBe('active');
    expect(await activeState('docker-cri.service')).toBe('inactive');
    expect((await must('stat', '-c', '%a %U:%G', '/run/docker-cri.sock')).trim()).toBe('660 root:docker');
  });

  it('a client connecting to the socket wakes the service (socket activation)', async () => {
    expect(await activeState('docker-cri.service')).toBe('inactive');
    const v = await withClient((c) => c.rt<{ runtime_name: string; runtime_api_version: string }>('Version'));
    expect(v).toMatchObject({ runtime_name: 'docker', runtime_api_version: 'v1' });
    expect(await activeState('docker-cri.service')).toBe('active');
    expect(await must('journalctl', '--no-pager', '-u', 'docker-cri.service')).toContain(
      'serving CRI on the socket systemd handed over',
    );
  });

  it('runs a pod with a container through the socket on the engine outside, its log written in the node', async () => {
    const config = podConfig('systemd');
    logDirs.push(config.log_directory);
    ({ pod_sandbox_id: sandboxId } = await withClient((c) =>
      c.rt<{ pod_sandbox_id: string }>('RunPodSandbox', { config }),
    ));
    expect(sandboxId).toMatch(/^[0-9a-f]{64}$/);
    // the kubelet makes the pod's log directory on the node (here: the system container)
    logFile = path.join(config.log_directory, 'app/0.log');
    await must('mkdir', '-p', path.dirname(logFile));
    ({ container_id: containerId } = await withClient((c) =>
      c.rt<{ container_id: string }>('CreateContainer', {
        pod_sandbox_id: sandboxId,
        config: {
          metadata: { name: 'app', attempt: 0 },
          image: { image: 'busybox:latest' },
          command: ['sh', '-c', 'echo hello from the pod; exec sleep 3600'],
          log_path: 'app/0.log',
        },
        sandbox_config: config,
      }),
    ));
    await withClient((c) => c.rt('StartContainer', { container_id: containerId }));
    expect(await podRunning()).toEqual([true, true]);
    expect(await listedPods()).toEqual([sandboxId]);
    await until("the container's log line in the node", async () =>
      (await box('cat', logFile)).stdout.includes('hello from the pod') ? true : undefined,
    );
  });

  it('systemctl kill -s KILL docker-cri: systemd starts it again and the pod is still listed', async () => {
    const pid = await prop('docker-cri.service', 'MainPID');
    const restarts = Number(await prop('docker-cri.service', 'NRestarts'));
    await must('systemctl', 'kill', '-s', 'KILL', 'docker-cri.service');
    await until('systemd to restart docker-cri', async () => {
      const now = await prop('docker-cri.service', 'MainPID');
      const state = await activeState('docker-cri.service');
      return state === 'active' && now !== '0' && now !== pid ? now : undefined;
    });
    expect(Number(await prop('docker-cri.service', 'NRestarts'))).toBe(restarts + 1);
    expect(await listedPods()).toEqual([sandboxId]);
    expect(await podRunning()).toEqual([true, true]);
  });

  it('systemctl stop docker-cri leaves the socket listening and the pod running; the next call wakes it', async () => {
    await must('systemctl', 'stop', 'docker-cri.service');
    expect(await activeState('docker-cri.service')).toBe('inactive');
    expect(await activeState('docker-cri.socket')).toBe('active');
    expect(await podRunning()).toEqual([true, true]);
    expect(await listedPods()).toEqual([sandboxId]);
    expect(await activeState('docker-cri.service')).toBe('active');
  });

  it('upgrading to a newer build keeps the edited config.yaml and restarts docker-cri on the new binary', async () => {
    const conf = '/etc/docker-cri/config.yaml';
    const original = await must('cat', conf);
    const edited = `${original.replace(/^log-level: info$/m, 'log-level: debug')}# edited on this node\n`;
    expect(edited).toContain('log-level: debug');
    await must('sh', '-c', `cat >${conf} <<'EOF'\n${edited}EOF`);
    const pid = await prop('docker-cri.service', 'MainPID');
    expect(pid).not.toBe('0');

    const out = await must('dpkg', '-i', `${MOUNT}/upgrade.deb`);
    expect(out).toContain(`Unpacking docker-cri (${upgradeVersion}) over (${version})`);
    expect((await must('dpkg-query', '-W', '-f', '${Version}', 'docker-cri')).trim()).toBe(upgradeVersion);
    expect(await must('cat', conf)).toBe(edited);
    expect((await must('ls', '/etc/docker-cri')).trim().split('\n')).toEqual(['config.yaml']);

    // postinst's try-restart: a new process, from the new file (the old one's is unlinked)
    const now = await until('docker-cri to run again after the upgrade', async () => {
      const p = await prop('docker-cri.service', 'MainPID');
      return (await activeState('docker-cri.service')) === 'active' && p !== '0' && p !== pid ? p : undefined;
    });
    expect((await must('readlink', `/proc/${now}/exe`)).trim()).toBe('/usr/bin/docker-cri');
    expect(await activeState('docker-cri.socket')).toBe('active');
    expect(await listedPods()).toEqual([sandboxId]);
  });

  it('dpkg -r stops docker-cri and keeps the pod; installing again listens at once, as the operator enabled it', async () => {
    await must('dpkg', '-r', 'docker-cri');
    expect(await activeState('docker-cri.socket')).toBe('inactive');
    expect((await box('test', '-e', '/run/docker-cri.sock')).code).not.toBe(0);
    expect((await box('test', '-e', '/usr/bin/docker-cri')).code).not.toBe(0);
    expect(await podRunning()).toEqual([true, true]);
    // a removal keeps the conffile and the operator's choice to enable the socket
    expect((await box('test', '-L', '/etc/systemd/system/sockets.target.wants/docker-cri.socket')).code).toBe(
      0,
    );

    await must('dpkg', '-i', `${MOUNT}/upgrade.deb`);
    expect(await activeState('docker-cri.socket')).toBe('active');
    expect(await listedPods()).toEqual([sandboxId]);
    expect(await activeState('docker-cri.service')).toBe('active');
  });

  it('dpkg --purge leaves the pod running in Docker and removes the rest', async () => {
    // docker-cri's run-time directory (the log pump's lock) is there; its state directory gets files
    // only as it needs them (a finished container's log position, CNI results): one stands in.
    expect((await box('test', '-d', '/run/docker-cri/log-pumps')).code).toBe(0);
    await must(
      'sh',
      '-c',
      'mkdir -p /var/lib/docker-cri/logs && echo {} >/var/lib/docker-cri/logs/finished.pos',
    );
    await must('dpkg', '--purge', 'docker-cri');
    expect(await podRunning()).toEqual([true, true]);

    expect((await box('dpkg-query', '-W', 'docker-cri')).code).not.toBe(0);
    for (const p of [
      '/usr/bin/docker-cri',
      '/etc/docker-cri',
      '/var/lib/docker-cri',
      '/usr/lib/docker-cri',
      '/usr/share/doc/docker-cri',
      '/lib/systemd/system/docker-cri.service',
      '/lib/systemd/system/docker-cri.socket',
    ]) {
      expect({ path: p, left: (await box('test', '-e', p)).code === 0 }).toEqual({ path: p, left: false });
    }
    // Nothing named after it anywhere on the node: enablement links, the socket file and run-time
    // directory, dpkg's records (systemd's own bookkeeping under /run/systemd aside).
    const leftovers = await must(
      'sh',
      '-c',
      'find /etc /lib /usr /var /run -path /run/systemd -prune -o -name "*docker-cri*" -print 2>/dev/null || true',
    );
    expect(leftovers.trim()).toBe('');
    for (const unit of ['docker-cri.service', 'docker-cri.socket']) {
      expect(await prop(unit, 'LoadState')).toBe('not-found');
      expect(await activeState(unit)).toBe('inactive');
    }
  });
});
