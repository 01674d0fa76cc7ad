import { ContainerIndex, type IndexTuning } from '../../src/docker/container-index';
import { ContainerStatusCache } from '../../src/state/container-status-cache';
import { setLogLevel } from '../../src/logger';
import { FakeEngine, dockerError, dockerUnreachable } from '../support/fake-engine';
import type { ContainerStatus } from '../../src/generated/runtime/v1/ContainerStatus';

setLogLevel('error');

const LABELS = { 'io.kubernetes.docker.type': 'container', 'io.kubernetes.sandbox.id': 's1' };

/** Polls until `cond` holds: the index works on timers and stream callbacks of its own. */
async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 5));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('ContainerIndex heals itself', () => {
  let index: ContainerIndex | undefined;
  afterEach(() => index?.stop());

  /** The fake engine with one running container, and an index synced with it. */
  async function world(tuning: IndexTuning) {
    const fake = new FakeEngine();
    const id = fake.addContainer({ Image: 'busybox', Labels: LABELS }, 'running');
    index = new ContainerIndex(
      {
        listContainers: (f) => fake.listContainers(f),
        inspectContainer: (cid) => fake.indexInspect(cid),
        containerEvents: () => fake.containerEvents(),
      },
      tuning,
    );
    await index.start();
    expect(index.get(id)?.state).toBe('running');
    return { fake, id, index };
  }

  it('retries a failed re-read after an event, and the exit it missed shows', async () => {
    const { fake, id, index } = await world({ reconcileMs: 0, retryBaseMs: 10 });
    fake.fail('index.inspect', dockerError(500, 'boom'), { subject: id });
    fake.exitContainer(id, 3);
    await until(() => index.get(id)?.state === 'exited');
    expect(fake.count('index.inspect', id)).toBe(2);
  });

  it('backs off, doubling, and gives up after its bounded number of retries', async () => {
    const { fake, id, index } = await world({ reconcileMs: 0, retryBaseMs: 10, retryMaxMs: 40, retries: 3 });
    fake.fail('index.inspect', dockerUnreachable(), { subject: id, times: 100 });
    fake.exitContainer(id, 3);
    // The event's read and three retries (10, 20, 40 ms apart), then no more.
    await until(() => fake.count('index.inspect', id) === 4);
    await sleep(300);
    expect(fake.count('index.inspect', id)).toBe(4);
    expect(index.get(id)?.state).toBe('running');
  });

  it('a newer event read that succeeds ends the retries of an older failure', async () => {
    const { fake, id, index } = await world({ reconcileMs: 0, retryBaseMs: 200 });
    fake.fail('index.inspect', dockerError(500, 'boom'), { subject: id });
    fake.exitContainer(id, 3); // die: its read fails, a retry is due in 200 ms
    await until(() => fake.count('index.inspect', id) === 1);
    void index.refresh(id, 'start'); // a read that began after the failure answers
    await until(() => index.get(id)?.state === 'exited');
    await sleep(400);
    expect(fake.count('index.inspect', id)).toBe(2);
  });

  it('the periodic reconciliation catches a dropped exit, a dropped create and a dropped destroy', async () => {
    const { fake, id, index } = await world({ reconcileMs: 20 });
    fake.eventsLost = true;
    fake.exitContainer(id, 0);
    const made = fake.addContainer({ Image: 'busybox', Labels: LABELS }, 'created');
    await until(() => index.get(id)?.state === 'exited' && index.get(made)?.state === 'created');
    fake.containers.delete(made);
    await until(() => index.get(made) === undefined);
    expect(index.membersOf('s1').map((c) => c.id)).toEqual([id]);
  });

  it('reconciliation lists once per period and re-reads only what differs', async () => {
    const { fake, id, index } = await world({ reconcileMs: 0 });
    const other = fake.addContainer({ Image: 'busybox', Labels: LABELS }, 'running');
    await until(() => index.get(other)?.state === 'running');
    const inspects = fake.count('index.inspect');
    const lists = fake.count('container.list');
    await index.reconcile();
    expect(fake.count('container.list')).toBe(lists + 1);
    expect(fake.count('index.inspect')).toBe(inspects);
    fake.eventsLost = true;
    fake.exitContainer(other, 1);
    const otherReads = fake.count('index.inspect', other);
    await index.reconcile();
    expect(fake.count('index.inspect')).toBe(inspects + 1);
    expect(fake.count('index.inspect', other)).toBe(otherReads + 1);
    expect(index.get(other)?.state).toBe('exited');
    expect(index.get(id)?.state).toBe('running');
  });

  it('a failed reconciliation list changes nothing and the next one still runs', async () => {
    const { fake, id, index } = await world({ reconcileMs: 20 });
    fake.fail('container.list', dockerError(500, 'boom'), { times: 2 });
    fake.eventsLost = true;
    fake.exitContainer(id, 0);
    await until(() => index.get(id)?.state === 'exited');
    expect(fake.count('container.list')).toBeGreaterThanOrEqual(4); // the first sync, two failures, a success
  });

  it('the status cache follows a corrected entry (no stale RUNNING from the cache)', async () => {
    const { fake, id, index } = await world({ reconcileMs: 20 });
    const cache = new ContainerStatusCache(index);
    const load = async (cid: string): Promise<ContainerStatus> =>
      ({
        id: cid,
        state: fake.containers.get(cid)?.state.Running ? 'CONTAINER_RUNNING' : 'CONTAINER_EXITED',
      }) as ContainerStatus;
    expect((await cache.get(index.get(id)!, load)).state).toBe('CONTAINER_RUNNING');
    fake.eventsLost = true;
    fake.exitContainer(id, 0);
    expect((await cache.get(index.get(id)!, load)).state).toBe('CONTAINER_RUNNING'); // still the cached answer
    await until(() => index.get(id)?.state === 'exited');
    expect((await cache.get(index.get(id)!, load)).state).toBe('CONTAINER_EXITED');
  });
});
