import fs from 'fs';
import os from 'os';
import path from 'path';
import { startShim, type TestShim } from '../support/shim';
import { removeTestPods, testDocker, testEngineSocket } from '../support/pod-config';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy';
import { Cri, type Pod } from './container-support';

jest.setTimeout(120_000);

/**
 * Faults between docker-cri and dockerd that leave the container index wrong (a failed re-read, a
 * dropped event, a cut or stalled events stream, a 409 on remove), injected by a proxy in front of
 * the real engine. Each asserts what the kubelet sees next: ContainerStatus and ListContainers
 * come to say EXITED (polled; the bound is the index's reconciliation, shortened here), and the
 * container's log pump ends.
 */
describe('the container index converges on Docker after faults', () => {
  let shim: TestShim;
  let proxy: FaultProxy;
  let dir: string;
  let cri: Cri;
  let pod: Pod;
  const docker = testDocker();

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dcri-faults-'));
    const engine = testEngineSocket();
    proxy = await startFaultProxy(engine, path.join(dir, 'docker.sock'));
    shim = await startShim(
      { dockerEndpoint: proxy.endpoint },
      { indexReconcileMs: 2_000, indexRetryBaseMs: 200 },
    );
    cri = new Cri(shim);
    pod = await cri.pod('faults');
  });
  afterEach(() => proxy.clearFaults());
  afterAll(async () => {
    proxy?.clearFaults();
    if (shim) await removeTestPods(shim.client);
    await shim?.stop();
    await proxy?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const inspectOf = (id: string) => new RegExp(`^GET \\S*/containers/${id}/json[ ?]`);
  const sameId = (id: string) => (ev: { Actor?: { ID?: string }; id?: string }) =>
    (ev.Actor?.ID ?? ev.id) === id;

  /**
   * A running container whose log pump has opened its source (the source's own inspect is done:
   * the next inspect of the container is the index's).
   */
  async function running(): Promise<string> {
    const id = await cri.run(pod, 'echo started; exec sleep 3600');
    await until(async () => (await cri.status(id)).status.state === 'CONTAINER_RUNNING');
    await until(async () => shim.app.deps.logs.pump(id)?.via !== undefined);
    return id;
  }

  /** Polls until `cond` holds; a failing call counts as not yet (the test's timeout bounds it). */
  async function until(cond: () => Promise<boolean>): Promise<void> {
    for (;;) {
      if (await cond().catch(() => false)) return;
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** What the kubelet sees: ContainerStatus and ListContainers both say EXITED, and the log pump ended. */
  async function seenExited(id: string): Promise<void> {
    await until(async () => (await cri.status(id)).status.state === 'CONTAINER_EXITED');
    await until(async () => (await cri.list({ id }))[0]?.state === 'CONTAINER_EXITED');
    await until(async () => shim.app.deps.logs.pump(id) === undefined);
    expect(fs.readFileSync((await cri.status(id)).status.log_path, 'utf8')).toContain('started');
  }

  it('a failed inspect right when the container exits: the re-read is retried', async () => {
    const id = await running();
    const before = proxy.seen(inspectOf(id));
    proxy.failNext(inspectOf(id), { status: 500, message: 'injected: inspect failed' });
    await docker.getContainer(id).kill(); // behind docker-cri's back, not through the proxy
    await until(async () => proxy.seen(inspectOf(id)) > before);
    await seenExited(id);
  });

  it('the die event dropped: the reconciliation finds the exit', async () => {
    const id = await running();
    const undo = proxy.dropEvents((ev) => sameId(id)(ev) && ev.Action === 'die');
    try {
      await docker.getContainer(id).kill();
      await seenExited(id);
    } finally {
      undo();
    }
  });

  it('the events stream reset mid-stream as the container exits: the index resyncs', async () => {
    const id = await running();
    // The exit falls in the gap: its die never reaches docker-cri's stream.
    const undo = proxy.dropEvents((ev) => sameId(id)(ev) && ev.Action === 'die');
    await docker.getContainer(id).kill();
    undo();
    expect(proxy.resetStreams(/^GET \S*\/events/)).toBe(1);
    await seenExited(id);
  });

  it('the events stream stalls (open, but nothing comes through): the reconciliation finds the exit', async () => {
    const id = await running();
    const undo = proxy.dropEvents(() => true);
    try {
      await docker.getContainer(id).kill();
      await seenExited(id);
    } finally {
      undo();
    }
  });

  it('a 409 on remove keeps the container listed; RemoveContainer again removes it', async () => {
    const id = await running();
    await shim.client.rt('StopContainer', { container_id: id, timeout: 0 });
    proxy.failNext(new RegExp(`^DELETE \\S*/containers/${id}[ ?]`), {
      status: 409,
      message: `removal of container ${id} is already in progress`,
    });
    // The kubelet sees the call succeed (someone else is removing it)...
    await shim.client.rt('RemoveContainer', { container_id: id });
    // ...but the removal did not happen: the dead container must stay visible, so that its layer
    // is not leaked out of sight and the kubelet's garbage collection tries again.
    expect((await docker.getContainer(id).inspect()).Id).toBe(id);
    expect((await cri.list({ id })).map((c) => c.state)).toEqual(['CONTAINER_EXITED']);
    expect((await cri.status(id)).status.state).toBe('CONTAINER_EXITED');
    await shim.client.rt('RemoveContainer', { container_id: id });
    expect(await cri.list({ id })).toEqual([]);
    await expect(docker.getContainer(id).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });
});
