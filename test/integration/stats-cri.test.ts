import fs from 'fs';
import net from 'net';
import { status } from '@grpc/grpc-js';
import { startShim, type TestShim } from '../support/shim';
import { grpcError } from '../support/cri-client';
import { eventually, PodFactory, sleep, type TestPod } from './stats-helpers';
import type { ContainerStats__Output } from '../../src/generated/runtime/v1/ContainerStats';
import type { PodSandboxStats__Output } from '../../src/generated/runtime/v1/PodSandboxStats';

// The project-level testTimeout is not applied to every run; these tests poll a real engine.
jest.setTimeout(120_000);

const MiB = 1024 * 1024;
const num = (v: { value: string } | null | undefined): number => Number(v?.value ?? NaN);

describe('container and pod stats from cgroup files', () => {
  let shim: TestShim;
  const pods = new PodFactory();
  let pod: TestPod;
  let burner: string;
  let filler: string;
  let listener: string;
  let exited: string;

  beforeAll(async () => {
    // Writable layers are walked every 60 s on a node; a test that waits for one walk asks for 2 s.
    shim = await startShim({}, { layerIntervalMs: 2000 });
    pod = await pods.sandbox('stats');
    [burner, filler, listener, exited] = await Promise.all([
      pods.container(pod, 'burn', ['sh', '-c', 'while :; do :; done']),
      // tmpfs pages are charged to the writer's cgroup as anonymous memory: a precise 50 MiB.
      pods.container(
        pod,
        'fill',
        [
          'sh',
          '-c',
          'dd if=/dev/zero of=/dev/shm/fill bs=1M count=50 2>/dev/null; touch /tmp/filled; exec sleep 3600',
        ],
        { memory: 200 * MiB },
      ),
      pods.container(pod, 'listen', ['sh', '-c', 'while :; do nc -l -p 9000 >/dev/null; done'], {
        labels: { role: 'listener' },
      }),
      pods.container(pod, 'done', ['true'], { start: false }),
    ]);
    await shim.app.deps.index.refresh(exited);
  });

  afterAll(async () => {
    await pods.cleanup();
    await shim.stop();
  });

  const stats = (id: string) =>
    shim.client
      .rt<{ stats: ContainerStats__Output }>('ContainerStats', { container_id: id })
      .then((r) => r.stats);

  it('a container burning CPU reports the CPU time the kernel gave its process', async () => {
    // Whatever else the machine runs, the loop's cgroup usage over a window must match the CPU
    // time the kernel accounted to the loop's own process over the same window (/proc/<pid>/stat,
    // in clock ticks): a comparison with "one core" would depend on the host being idle.
    const pid = (await shim.app.deps.engine.inspectContainer(burner)).State.Pid;
    const ticks = (): number => {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return Number(fields[11]) + Number(fields[12]); // utime + stime, from field 14 on
    };
    const TICK_NS = 1e7; // USER_HZ is 100 on Linux
    const before = ticks();
    const first = await stats(burner);
    expect(first.attributes?.id).toBe(burner);
    expect(first.attributes?.metadata?.name).toBe('burn');
    await sleep(2000);
    const second = await stats(burner);
    const after = ticks();
    const used = num(second.cpu?.usage_core_nano_seconds) - num(first.cpu?.usage_core_nano_seconds);
    const wall = Number(second.cpu?.timestamp) - Number(first.cpu?.timestamp);
    expect(used).toBeGreaterThan(0);
    // The window of the two readings lies inside the window of the two tick counts; the shell's
    // loop is the cgroup's only busy process. Ticks are coarse (10 ms) and the outer window is a
    // little longer, hence the slack.
    const kernel = (after - before) * TICK_NS;
    expect(used).toBeLessThanOrEqual(kernel + 5 * TICK_NS);
    expect(used).toBeGreaterThan(kernel * 0.5 - 5 * TICK_NS);
    const cores = num(second.cpu?.usage_nano_cores) / 1e9;
    expect(cores).toBeCloseTo(used / wall, 1);
    // One busy loop never uses more than one core.
    expect(cores).toBeLessThan(1.1);
  });

  it('a container holding 50 MiB reports that working set (within 10%), rss, limit and page faults', async () => {
    await eventually('the fill to finish', async () => {
      const e = await shim.app.docker.api.getContainer(filler).exec({ Cmd: ['test', '-e', '/tmp/filled'] });
      await new Promise<void>((resolve) =>
        e.start({}, (_e, s) => (s ? (s.on('end', resolve), s.resume()) : resolve())),
      );
      return (await e.inspect()).ExitCode === 0 ? true : undefined;
    });
    const s = await stats(filler);
    const ws = num(s.memory?.working_set_bytes);
    expect(ws).toBeGreaterThan(50 * MiB * 0.9);
    expect(ws).toBeLessThan(50 * MiB * 1.1);
    expect(num(s.memory?.usage_bytes)).toBeGreaterThanOrEqual(ws);
    expect(num(s.memory?.available_bytes)).toBe(200 * MiB - ws);
    expect(num(s.memory?.page_faults)).toBeGreaterThan(0);
    expect(Number.isFinite(num(s.memory?.rss_bytes))).toBe(true);
    // No limit: no available bytes.
    expect((await stats(burner)).memory?.available_bytes).toBeNull();
  });

  it('reports the writable layer from the background sampler', async () => {
    const e = await shim.app.docker.api
      .getContainer(listener)
      .exec({ Cmd: ['dd', 'if=/dev/zero', 'of=/big', 'bs=1M', 'count=3'] });
    await new Promise<void>((resolve) =>
      e.start({}, (_e, s) => (s ? (s.on('end', resolve), s.resume()) : resolve())),
    );
    const layer = await eventually('the writable layer walk', async () => {
      const w = (await stats(listener)).writable_layer;
      return w && num(w.used_bytes) >= 3 * MiB ? w : undefined;
    });
    expect(num(layer.inodes_used)).toBeGreaterThan(0);
    expect(layer.fs_id?.mountpoint).toMatch(/overlay2$/);
  });

  it('an exited container has stats without cpu or memory', async () => {
    const s = await stats(exited);
    expect(s.attributes?.id).toBe(exited);
    expect(s.cpu).toBeNull();
    expect(s.memory).toBeNull();
  });

  it('ListContainerStats filters by id prefix, pod and labels, and makes no Docker call once warm', async () => {
    const list = (filter: object) =>
      shim.client
        .rt<{ stats: ContainerStats__Output[] }>('ListContainerStats', { filter })
        .then((r) => r.stats.map((s) => s.attributes?.id).sort());
    expect(await list({ pod_sandbox_id: pod.id.slice(0, 12) })).toEqual(
      [burner, filler, listener, exited].sort(),
    );
    expect(await list({ id: burner.slice(0, 16) })).toEqual([burner]);
    expect(await list({ label_selector: { role: 'listener' } })).toEqual([listener]);
    expect(await list({ pod_sandbox_id: pod.id, label_selector: { role: 'none' } })).toEqual([]);
    expect(await list({ id: 'f'.repeat(64) })).toEqual([]);
    // The sandbox itself is not a container.
    expect(await list({ id: pod.id })).toEqual([]);

    let calls = 0;
    shim.app.docker.onCall(() => calls++);
    const all = await list({ pod_sandbox_id: pod.id });
    expect(all).toHaveLength(4);
    expect(calls).toBe(0);
  });

  it('pod stats include the containers, processes, and network bytes that grow with traffic', async () => {
    const podStats = () =>
      shim.client
        .rt<{ stats: PodSandboxStats__Output }>('PodSandboxStats', { pod_sandbox_id: pod.id })
        .then((r) => r.stats);
    const before = await podStats();
    expect(before.attributes?.id).toBe(pod.id);
    expect(before.attributes?.metadata?.name).toBe(pod.name);
    expect(before.attributes?.labels?.['dcri-test']).toBe('yes');
    expect(before.linux?.containers.map((c) => c.attributes?.id).sort()).toEqual(
      [burner, filler, listener, exited].sort(),
    );
    expect(before.linux?.network?.default_interface?.name).toBe('eth0');
    expect(before.linux?.network?.interfaces.map((i) => i.name)).not.toContain('lo');
    // pause + busy loop + sleep + listener loop and its nc.
    expect(num(before.linux?.process?.process_count)).toBeGreaterThanOrEqual(4);
    // No pod cgroup here: the pod is the sum of its members.
    expect(num(before.linux?.memory?.working_set_bytes)).toBeGreaterThan(50 * MiB * 0.9);
    expect(num(before.linux?.cpu?.usage_core_nano_seconds)).toBeGreaterThan(0);

    const payload = Buffer.alloc(2 * MiB, 7);
    await new Promise<void>((resolve, reject) => {
      const sock = net.connect(9000, pod.ip, () => sock.end(payload));
      sock.on('close', () => resolve());
      sock.on('error', reject);
    });
    const rx = (s: PodSandboxStats__Output) => num(s.linux?.network?.default_interface?.rx_bytes);
    await eventually('rx bytes to grow', async () => {
      const after = await podStats();
      return rx(after) - rx(before) >= 2 * MiB ? true : undefined;
    });

    const listed = await shim.client.rt<{ stats: PodSandboxStats__Output[] }>('ListPodSandboxStats', {
      filter: { label_selector: { 'dcri-test-run': pods.run } },
    });
    expect(listed.stats.map((s) => s.attributes?.id)).toEqual([pod.id]);
    const none = await shim.client.rt<{ stats: PodSandboxStats__Output[] }>('ListPodSandboxStats', {
      filter: { id: burner },
    });
    expect(none.stats).toEqual([]);
  });

  it('refuses empty ids and names unknown ones', async () => {
    const e1 = await grpcError(shim.client.rt('ContainerStats', {}));
    expect(e1.code).toBe(status.INVALID_ARGUMENT);
    expect(e1.details).toMatch(/container_id/);
    const e2 = await grpcError(shim.client.rt('ContainerStats', { container_id: 'f'.repeat(64) }));
    expect(e2.code).toBe(status.NOT_FOUND);
    expect(e2.details).toContain('f'.repeat(64));
    const e3 = await grpcError(shim.client.rt('PodSandboxStats', { pod_sandbox_id: '' }));
    expect(e3.code).toBe(status.INVALID_ARGUMENT);
    expect(e3.details).toMatch(/pod_sandbox_id/);
    const e4 = await grpcError(shim.client.rt('PodSandboxStats', { pod_sandbox_id: burner }));
    expect(e4.code).toBe(status.NOT_FOUND);
  });

  it('forgets a container once it is removed (no cache growth under churn)', async () => {
    const baseline = shim.app.deps.stats.cachedEntries();
    const extra = await pods.container(pod, 'churn', ['sleep', '3600']);
    await shim.app.deps.index.refresh(extra);
    await stats(extra);
    expect(shim.app.deps.stats.cachedEntries()).toBeGreaterThan(baseline);
    await shim.app.docker.api.getContainer(extra).remove({ force: true });
    await eventually('the index to drop it', async () => (shim.app.deps.index.get(extra) ? undefined : true));
    expect(shim.app.deps.stats.cachedEntries()).toBe(baseline);
  });
});

describe("Docker's one-shot stats as the fallback", () => {
  let shim: TestShim;
  const pods = new PodFactory();
  afterAll(async () => {
    await pods.cleanup();
    await shim.stop();
  });

  it('answers from Docker when the cgroup files cannot be found', async () => {
    shim = await startShim();
    const pod = await pods.sandbox('fallback');
    const id = await pods.container(pod, 'sleep', ['sleep', '3600']);
    const { StatsCollector } = await import('../../src/stats/collector');
    const { CgroupReader } = await import('../../src/stats/cgroups');
    const deps = shim.app.deps;
    const blind = new StatsCollector(deps.engine, deps.index, new CgroupReader('/nonexistent-proc'));
    await deps.index.refresh(id);
    const c = await eventually('the index to see it running', async () => {
      const e = deps.index.get(id);
      return e?.state === 'running' ? e : undefined;
    });
    const ops: string[] = [];
    shim.app.docker.onCall((op) => ops.push(op));
    const s = await blind.sample(c);
    expect(ops).toContain('container.stats');
    expect(Number(s?.cpuNs)).toBeGreaterThan(0);
    expect(Number(s?.memory?.workingSet)).toBeGreaterThan(0);
    const sandbox = await deps.index.refresh(pod.id);
    const net = await blind.network(sandbox!);
    expect(net?.map((i) => i.name)).toContain('eth0');
    blind.stop();
  });
});
