import { PassThrough } from 'stream';
import type { ContainerInfo, ContainerInspectInfo } from 'dockerode';
import { ContainerIndex, type IndexChange, type IndexSource } from '../../src/docker/container-index';
import { eventTypesFor } from '../../src/runtime/container-events';
import { setLogLevel } from '../../src/logger';

setLogLevel('error');

/**
 * What an inspect of `id` answers when the engine holds `list`: the matching container in inspect's
 * shape, or Docker's 404.
 */
function inspectFrom(list: ContainerInfo[], id: string): unknown {
  const c = list.find((e) => e.Id.startsWith(id));
  if (!c) throw Object.assign(new Error(`No such container: ${id}`), { statusCode: 404 });
  return {
    Id: c.Id,
    Name: c.Names[0],
    Created: new Date(c.Created * 1000).toISOString(),
    State: { Status: c.State },
    Config: { Labels: c.Labels, Image: c.Image },
    Image: c.ImageID,
  };
}

/**
 * An engine whose answers arrive when the test says so; the test answers with what a list
 * would show, and an inspect sees the same containers.
 */
function fakeDocker() {
  const waiting: Array<(list: ContainerInfo[]) => void> = [];
  const docker = {
    inspectContainer: (id: string) =>
      new Promise<ContainerInfo[]>((r) => waiting.push(r)).then((l) => inspectFrom(l, id)),
  } as unknown as IndexSource;
  return { docker, waiting };
}

const entry = (id: string, state: string): ContainerInfo =>
  ({
    Id: id,
    Names: ['/x'],
    Labels: { 'io.kubernetes.docker.type': 'container' },
    State: state,
    Created: 1,
    Image: 'i',
    ImageID: 'sha256:i',
  }) as unknown as ContainerInfo;

describe('ContainerIndex.refresh', () => {
  const id = 'a'.repeat(64);

  it('never lets an older answer win, and an older caller gets the newer answer', async () => {
    const { docker, waiting } = fakeDocker();
    const index = new ContainerIndex(docker);
    const first = index.refresh(id);
    const second = index.refresh(id);
    waiting[1]([entry(id, 'running')]); // the newer answer arrives first
    await expect(second).resolves.toMatchObject({ state: 'running' });
    const third = index.refresh(id); // starts after the second finished
    waiting[0]([entry(id, 'created')]); // the oldest, stale answer arrives last
    waiting[2]([entry(id, 'exited')]);
    await expect(first).resolves.toMatchObject({ state: 'exited' });
    await expect(third).resolves.toMatchObject({ state: 'exited' });
    expect(index.get(id)?.state).toBe('exited');
  });

  it('keeps each sandbox’s members as containers come and go', async () => {
    const { docker, waiting } = fakeDocker();
    const index = new ContainerIndex(docker);
    const inPod = (cid: string, sandbox: string): ContainerInfo =>
      ({
        ...entry(cid, 'running'),
        Labels: { ...entry(cid, 'running').Labels, 'io.kubernetes.sandbox.id': sandbox },
      }) as ContainerInfo;
    const [a, b, c] = ['a', 'b', 'c'].map((x) => x.repeat(64));
    const reads = [index.refresh(a), index.refresh(b), index.refresh(c)];
    waiting[0]([inPod(a, 's1')]);
    waiting[1]([inPod(b, 's1')]);
    waiting[2]([inPod(c, 's2')]);
    await Promise.all(reads);
    expect(
      index
        .membersOf('s1')
        .map((m) => m.id)
        .sort(),
    ).toEqual([a, b]);
    expect(index.membersOf('s2').map((m) => m.id)).toEqual([c]);
    index.forget(a);
    expect(index.membersOf('s1').map((m) => m.id)).toEqual([b]);
    index.forget(c);
    expect(index.membersOf('s2')).toEqual([]);
    expect(index.membersOf('nothing')).toEqual([]);
  });

  it('emits a change per state step and forgets removed containers', async () => {
    const { docker, waiting } = fakeDocker();
    const index = new ContainerIndex(docker);
    const changes: string[] = [];
    index.on('change', (c: { after?: { state: string } }) => changes.push(c.after?.state ?? 'gone'));
    const p1 = index.refresh(id);
    waiting[0]([entry(id, 'running')]);
    await p1;
    const p2 = index.refresh(id);
    waiting[1]([]);
    await expect(p2).resolves.toBeUndefined();
    expect(changes).toEqual(['running', 'gone']);
    expect(index.list()).toEqual([]);
  });
});

/**
 * A Docker client whose list and inspect answers arrive when the test says so, with an events stream the test
 * writes to and can end (the index then reconnects and resyncs).
 */
function fakeEngine() {
  const waiting: Array<{ filters: unknown; answer: (list: ContainerInfo[]) => void }> = [];
  const streams: PassThrough[] = [];
  // A resync lists, a refresh inspects; both are answered with what a list would show.
  const docker: IndexSource = {
    listContainers: (filters) =>
      new Promise<ContainerInfo[]>((resolve) => waiting.push({ filters, answer: resolve })),
    inspectContainer: (id) =>
      new Promise((resolve, reject) => {
        const answer = (list: ContainerInfo[]): void => {
          try {
            resolve(inspectFrom(list, id) as ContainerInspectInfo);
          } catch (err) {
            reject(err);
          }
        };
        waiting.push({ filters: { id: [id] }, answer });
      }),
    containerEvents: async () => {
      const s = new PassThrough();
      streams.push(s);
      return s;
    },
  };
  const event = (id: string, action: string): void => {
    const ev = {
      Type: 'container',
      Action: action,
      Actor: { ID: id, Attributes: { 'io.kubernetes.docker.type': 'container' } },
    };
    streams[streams.length - 1].write(JSON.stringify(ev) + '\n');
  };
  return { docker, waiting, streams, event };
}

/** Polls until `cond` holds: the index works on timers and stream callbacks of its own. */
async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 10));
}

describe('ContainerIndex: refresh, events and resync through one versioned apply', () => {
  const a = 'a'.repeat(64);
  const b = 'b'.repeat(64);
  let index: ContainerIndex | undefined;
  afterEach(() => index?.stop());

  /** An index synced from a first list that shows `a` running, following events. */
  async function syncedWithARunning(): Promise<{
    engine: ReturnType<typeof fakeEngine>;
    index: ContainerIndex;
  }> {
    const engine = fakeEngine();
    const synced = new ContainerIndex(engine.docker);
    index = synced;
    const started = synced.start();
    await until(() => engine.waiting.length === 1);
    engine.waiting[0].answer([entry(a, 'running')]);
    await started;
    return { engine, index: synced };
  }

  /** An index synced with `a` running, then cut off: its resync is under way and unanswered. */
  async function resyncUnderWay() {
    const { engine, index } = await syncedWithARunning();
    const changes: IndexChange[] = [];
    index.on('change', (c: IndexChange) => changes.push(c));
    engine.streams[0].end(); // the events stream drops; the index reconnects and lists again
    await until(() => engine.waiting.length === 2);
    return { engine, index, changes, resync: engine.waiting[1] };
  }

  const criEvents = (changes: IndexChange[]) =>
    changes.flatMap((c) => eventTypesFor(c.before, c.after).map((t) => `${c.id[0]}:${t}`));

  it('a state change newer than the resync wins over the resync list, and no false event follows', async () => {
    const { engine, index, changes, resync } = await resyncUnderWay();
    engine.event(a, 'die');
    await until(() => engine.waiting.length === 3);
    engine.waiting[2].answer([entry(a, 'exited')]);
    await until(() => index.get(a)?.state === 'exited');
    resync.answer([entry(a, 'running')]); // listed before it died: an older answer
    await new Promise<void>((r) => index.once('resync', () => r()));
    expect(index.get(a)?.state).toBe('exited');
    expect(criEvents(changes)).toEqual(['a:CONTAINER_STOPPED_EVENT']);
  });

  it('a container removed during a resync is not brought back by it', async () => {
    const { engine, index, changes, resync } = await resyncUnderWay();
    engine.event(a, 'destroy');
    await until(() => index.get(a) === undefined);
    resync.answer([entry(a, 'running')]);
    await new Promise<void>((r) => index.once('resync', () => r()));
    expect(index.list()).toEqual([]);
    expect(criEvents(changes)).toEqual(['a:CONTAINER_STOPPED_EVENT', 'a:CONTAINER_DELETED_EVENT']);
  });

  it('a container made during a resync is not dropped by it; one that reappears unchanged is no change', async () => {
    const { engine, index, changes, resync } = await resyncUnderWay();
    engine.event(b, 'create');
    await until(() => engine.waiting.length === 3);
    engine.waiting[2].answer([entry(b, 'created')]);
    await until(() => index.get(b) !== undefined);
    resync.answer([entry(a, 'running')]); // listed before b existed
    await new Promise<void>((r) => index.once('resync', () => r()));
    expect(index.get(b)?.state).toBe('created');
    expect(index.get(a)?.state).toBe('running');
    expect(criEvents(changes)).toEqual(['b:CONTAINER_CREATED_EVENT']);
  });

  it('a refresh that began before a destroy event does not bring the container back', async () => {
    const synced = await syncedWithARunning();
    const engine = synced.engine;
    index = synced.index;
    const late = index.refresh(a);
    await until(() => engine.waiting.length === 2);
    engine.event(a, 'destroy');
    await until(() => index!.get(a) === undefined);
    engine.waiting[1].answer([entry(a, 'exited')]);
    await late;
    expect(index.get(a)).toBeUndefined();
  });

  it('markExited after a stop of ours: exited at once, a read that began before the stop does not undo it', async () => {
    const synced = await syncedWithARunning();
    const engine = synced.engine;
    index = synced.index;
    const changes: IndexChange[] = [];
    index.on('change', (c: IndexChange) => changes.push(c));
    const stale = index.refresh(a); // e.g. the start event's read, still out during the stop
    await until(() => engine.waiting.length === 2);
    index.markExited(a);
    expect(index.get(a)?.state).toBe('exited');
    engine.waiting[1].answer([entry(a, 'running')]);
    await stale;
    expect(index.get(a)?.state).toBe('exited');
    expect(changes.map((c) => [c.action, c.after?.state])).toEqual([['stop', 'exited']]);
    // Marking again, or marking an id the index does not hold, is no change.
    index.markExited(a);
    index.markExited('f'.repeat(64));
    expect(changes).toHaveLength(1);
    expect(index.get('f'.repeat(64))).toBeUndefined();
  });
});
