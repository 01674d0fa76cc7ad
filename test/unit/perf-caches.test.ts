import { spawn } from 'child_process';
import { EventEmitter } from 'events';
import fs from 'fs';
import os from 'os';
import path from 'path';
import type { ContainerIndex, IndexedContainer } from '../../src/docker/container-index';
import type { Engine } from '../../src/docker/engine';
import type { ContainerStatus } from '../../src/generated/runtime/v1/ContainerStatus';
import { isReadOnlyMethod } from '../../src/grpc/handler';
import { ContainerStatusCache } from '../../src/state/container-status-cache';
import { EngineInfoCache } from '../../src/docker/engine-info-cache';
import { CgroupFiles, readPseudoFile } from '../../src/stats/cgroups';
import { forgetSlowDisk, walkUsage } from '../../src/image/fs-usage';

/** The caches and quiet paths that keep docker-cri cheap at node density (issue 18). */

describe('which calls log at debug', () => {
  it.each([
    ['ListPodSandbox', true],
    ['ListContainers', true],
    ['ListContainerStats', true],
    ['ListPodSandboxStats', true],
    ['ListImages', true],
    ['ListMetricDescriptors', true],
    ['StreamContainers', true],
    ['PodSandboxStatus', true],
    ['ContainerStatus', true],
    ['ImageStatus', true],
    ['Status', true],
    ['ContainerStats', true],
    ['PodSandboxStats', true],
    ['Version', true],
    ['ImageFsInfo', true],
    ['RuntimeConfig', true],
    ['RunPodSandbox', false],
    ['StopPodSandbox', false],
    ['RemovePodSandbox', false],
    ['CreateContainer', false],
    ['StartContainer', false],
    ['StopContainer', false],
    ['RemoveContainer', false],
    ['UpdateContainerResources', false],
    ['UpdateRuntimeConfig', false],
    ['ReopenContainerLog', false],
    ['ExecSync', false],
    ['Exec', false],
    ['Attach', false],
    ['PortForward', false],
    ['PullImage', false],
    ['RemoveImage', false],
    ['CheckpointContainer', false],
    ['GetContainerEvents', false],
  ])('%s read-only: %s', (method, readOnly) => {
    expect(isReadOnlyMethod(method)).toBe(readOnly);
  });
});

function entry(id: string, state: string): IndexedContainer {
  return { id, name: `k8s_c_p_ns_u_0`, labels: {}, state, created: 1, image: 'i', imageId: 'sha256:i' };
}

function status(id: string, state: ContainerStatus['state']): ContainerStatus {
  return { id, state, exit_code: 0 };
}

/** Loaders answering `state`, counting every load in `loads`. */
function counting(): {
  loads: number;
  loader: (state: ContainerStatus['state']) => (id: string) => Promise<ContainerStatus>;
} {
  const c = {
    loads: 0,
    loader: (state: ContainerStatus['state']) => async (id: string) => {
      c.loads++;
      return status(id, state);
    },
  };
  return c;
}

describe('ContainerStatusCache', () => {
  // Every container is known to this index except those a 'change' without `after` removed.
  const index = (connected = true): ContainerIndex => {
    const gone = new Set<string>();
    const idx = new EventEmitter();
    idx.on('change', (c: { id: string; after?: unknown }) => (c.after ? gone.delete(c.id) : gone.add(c.id)));
    return Object.assign(idx, {
      get: (id: string) => (gone.has(id) ? undefined : { id }),
      isConnected: () => connected,
    }) as unknown as ContainerIndex;
  };

  it('neither answers from nor keeps anything while the index is cut off from events', async () => {
    const cache = new ContainerStatusCache(index(false));
    const counted = counting();
    const load = counted.loader('CONTAINER_RUNNING');
    await cache.get(entry('a', 'running'), load);
    await cache.get(entry('a', 'running'), load);
    expect(counted.loads).toBe(2);
    expect(cache.size()).toBe(0);
  });

  it('answers again while the state stands still, and loads again after a change or forget', async () => {
    const idx = index();
    const cache = new ContainerStatusCache(idx);
    const counted = counting();
    const load = counted.loader('CONTAINER_RUNNING');
    await cache.get(entry('a', 'running'), load);
    await cache.get(entry('a', 'running'), load);
    expect(counted.loads).toBe(1);
    // A different state in the index (the event may not have been handled yet) is a miss.
    const exited = counted.loader('CONTAINER_EXITED');
    await cache.get(entry('a', 'exited'), exited);
    expect(counted.loads).toBe(2);
    cache.forget('a');
    await cache.get(entry('a', 'exited'), exited);
    expect(counted.loads).toBe(3);
    idx.emit('change', { id: 'a', action: 'destroy' });
    expect(cache.size()).toBe(0);
  });

  it('keeps no answer that a change overtook, nor one that disagrees with the index', async () => {
    const idx = index();
    const cache = new ContainerStatusCache(idx);
    let release: () => void = () => undefined;
    const slow = (id: string): Promise<ContainerStatus> =>
      new Promise((r) => {
        release = () => r(status(id, 'CONTAINER_RUNNING'));
      });
    const pending = cache.get(entry('b', 'running'), slow);
    idx.emit('change', { id: 'b', after: entry('b', 'exited'), action: 'die' });
    release();
    await pending;
    const counted = counting();
    const count = counted.loader('CONTAINER_EXITED');
    await cache.get(entry('b', 'running'), count);
    expect(counted.loads).toBe(1);
    // EXITED does not match the index's "running": not kept.
    await cache.get(entry('b', 'running'), count);
    expect(counted.loads).toBe(2);
  });
});

describe('EngineInfoCache', () => {
  type InfoEngine = Pick<Engine, 'ping' | 'info'>;
  function fakeDocker(): { docker: InfoEngine; pings: number; infos: number; fail: boolean } {
    const state = { pings: 0, infos: 0, fail: false, docker: undefined as unknown as InfoEngine };
    state.docker = {
      ping: async () => {
        state.pings++;
        if (state.fail) throw new Error('docker engine unreachable');
      },
      info: async () => {
        state.infos++;
        return { Driver: 'overlay2', DockerRootDir: '/var/lib/docker', Runtimes: { runc: {} } };
      },
    } as unknown as InfoEngine;
    return state;
  }

  it('trusts a recent ping while the events stream is open, and pings when it is not', async () => {
    const d = fakeDocker();
    let connected = true;
    const index = { isConnected: () => connected } as unknown as ContainerIndex;
    const cache = new EngineInfoCache(d.docker, index, 1000);
    expect(await cache.liveness()).toEqual({ ok: true });
    expect(await cache.liveness()).toEqual({ ok: true });
    expect(d.pings).toBe(1);
    connected = false;
    d.fail = true;
    const down = await cache.liveness();
    expect(down.ok).toBe(false);
    expect(d.pings).toBe(2);
    // Down stays down until a ping succeeds again.
    connected = true;
    expect((await cache.liveness()).ok).toBe(false);
    d.fail = false;
    expect(await cache.liveness()).toEqual({ ok: true });
  });

  it('renews an aging ping and /info after the answer, without making the call wait', async () => {
    const d = fakeDocker();
    const index = { isConnected: () => true } as unknown as ContainerIndex;
    const cache = new EngineInfoCache(d.docker, index, 1000);
    await cache.liveness();
    await cache.get();
    const now = Date.now();
    const clock = jest.spyOn(Date, 'now');
    try {
      // 3 s on: past the ping's renewal age, within its trust. 61 s on for /info.
      clock.mockReturnValue(now + 3_000);
      expect(await cache.liveness()).toEqual({ ok: true });
      expect(d.pings).toBe(1); // not before the answer
      await new Promise((r) => setImmediate(r));
      expect(d.pings).toBe(2);
      clock.mockReturnValue(now + 61_000);
      expect((await cache.get()).Driver).toBe('overlay2');
      expect(d.infos).toBe(1);
      await new Promise((r) => setImmediate(r));
      expect(d.infos).toBe(2);
    } finally {
      clock.mockRestore();
    }
  });

  it('reads /info once and shares concurrent reads', async () => {
    const d = fakeDocker();
    const cache = new EngineInfoCache(d.docker, undefined, 1000);
    const [a, b] = await Promise.all([cache.get(), cache.get()]);
    expect(a).toBe(b);
    await cache.get();
    expect(d.infos).toBe(1);
    expect(a.Driver).toBe('overlay2');
  });
});

describe('cgroup files kept open', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dcri-cg-'));
    fs.writeFileSync(path.join(dir, 'memory.usage_in_bytes'), '1000\n');
    fs.writeFileSync(path.join(dir, 'memory.stat'), 'total_inactive_file 100\ntotal_rss 700\n');
    fs.writeFileSync(path.join(dir, 'memory.limit_in_bytes'), '9223372036854771712\n');
    fs.writeFileSync(path.join(dir, 'cpuacct.usage'), '5000\n');
    fs.writeFileSync(path.join(dir, 'pids.current'), '3\n');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads the current content on every reading, and nothing once closed', () => {
    const files = new CgroupFiles({ version: 1, memory: dir, cpu: dir, pids: dir });
    const first = files.read(1n);
    expect(first?.cpuNs).toBe(5000n);
    expect(first?.processes).toBe(3n);
    expect(first?.memory?.workingSet).toBe(900n);
    // Longer than before: read from the start, not a stale length.
    fs.writeFileSync(path.join(dir, 'cpuacct.usage'), '123456789\n');
    expect(files.read(2n)?.cpuNs).toBe(123456789n);
    files.close();
    expect(files.read(3n)).toBeUndefined();
  });

  it('gives undefined for a cgroup whose memory files are missing', () => {
    const files = new CgroupFiles({ version: 1, memory: path.join(dir, 'gone') });
    expect(files.read(1n)).toBeUndefined();
    files.close();
    expect(readPseudoFile(path.join(dir, 'gone'))).toBeUndefined();
  });

  // Compared only with content that holds still: a live file such as /proc/self/mountinfo changes
  // between two reads whenever something on the node mounts (a kubelet does so all the time).
  it.each(['/proc/self/cgroup', '/proc/self/limits'])('reads the kernel’s pseudo-file %s whole', (file) => {
    expect(readPseudoFile(file)).toBe(fs.readFileSync(file, 'latin1'));
  });

  it('reads a pseudo-file longer than one page whole (a seq_file read stops at its page buffer)', async () => {
    // A stopped process's memory map holds still, and node's is several pages long.
    const child = spawn(process.execPath, ['-e', 'process.stdout.write("up"); setInterval(() => {}, 1e6)'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    try {
      await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
      child.kill('SIGSTOP');
      // SIGSTOP takes effect asynchronously: wait until the kernel shows it stopped.
      while (!/^State:\s+T/m.test(fs.readFileSync(`/proc/${child.pid}/status`, 'latin1'))) {
        await new Promise((r) => setTimeout(r, 5));
      }
      const file = `/proc/${child.pid}/maps`;
      const whole = fs.readFileSync(file, 'latin1');
      expect(whole.length).toBeGreaterThan(4096);
      expect(readPseudoFile(file)).toBe(whole);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('reads files larger than its first buffer', () => {
    const big = 'x'.repeat(40_000);
    fs.writeFileSync(path.join(dir, 'big'), big);
    expect(readPseudoFile(path.join(dir, 'big'))).toBe(big);
  });
});

describe('walkUsage', () => {
  it('counts bytes and inodes below a directory, hard links once', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dcri-walk-'));
    try {
      fs.mkdirSync(path.join(dir, 'sub'));
      fs.writeFileSync(path.join(dir, 'sub', 'f'), Buffer.alloc(10_000, 1));
      fs.linkSync(path.join(dir, 'sub', 'f'), path.join(dir, 'g'));
      const u = await walkUsage(dir);
      expect(u.inodes).toBe(2n);
      expect(u.bytes).toBeGreaterThanOrEqual(10_000n);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  /** A tree with nested directories, a hard link and a dangling symlink; its expected sums. */
  const tree = (): { dir: string; want: bigint } => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dcri-walk-'));
    fs.mkdirSync(path.join(dir, 'a', 'b', 'c'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'a', 'd'));
    fs.writeFileSync(path.join(dir, 'a', 'b', 'c', 'x'), Buffer.alloc(70_000, 2));
    fs.writeFileSync(path.join(dir, 'a', 'y'), 'y');
    fs.linkSync(path.join(dir, 'a', 'y'), path.join(dir, 'a', 'd', 'y2'));
    fs.symlinkSync('nowhere', path.join(dir, 'a', 'link'));
    const want = ['a', 'a/b', 'a/b/c', 'a/d', 'a/b/c/x', 'a/y', 'a/link'].reduce(
      (sum, rel) => sum + BigInt(fs.lstatSync(path.join(dir, rel)).blocks) * 512n,
      0n,
    );
    return { dir, want };
  };

  it.each([
    ['synchronous calls in slices', { sync: true }],
    ['the thread pool', { sync: false }],
  ])('counts every directory once and sums the allocated blocks exactly, through %s', async (_how, opts) => {
    const { dir, want } = tree();
    try {
      const u = await walkUsage(dir, opts);
      expect([u.inodes, u.bytes]).toEqual([7n, want]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('leaves synchronous calls for a while once one was slow, and the sums do not change', async () => {
    const { dir, want } = tree();
    const spy = jest.spyOn(fs, 'lstatSync');
    try {
      forgetSlowDisk();
      // Every call counts as slow: the first one (the root's readdir) switches the walk over.
      const slow = await walkUsage(dir, { slowCallMs: -1 });
      expect([slow.inodes, slow.bytes]).toEqual([7n, want]);
      expect(spy).not.toHaveBeenCalled();
      // The next walk, left to choose, remembers the slow disk.
      await walkUsage(dir);
      expect(spy).not.toHaveBeenCalled();
      forgetSlowDisk();
      const fast = await walkUsage(dir);
      expect([fast.inodes, fast.bytes]).toEqual([7n, want]);
      expect(spy).toHaveBeenCalled();
    } finally {
      spy.mockRestore();
      forgetSlowDisk();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
