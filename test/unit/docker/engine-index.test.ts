import { IndexedEngine, type IndexWriter } from '../../../src/docker/engine-index';
import { isNotModified } from '../../../src/docker/errors';
import { dockerError, dockerTimeout, FakeEngine } from '../../support/fake-engine';

/** Records what the engine asked of the index. */
function recorder(): IndexWriter & { log: string[] } {
  const log: string[] = [];
  return {
    log,
    async refresh(id, action) {
      log.push(`refresh ${action} ${id.slice(0, 4)}`);
    },
    forget(id) {
      log.push(`forget ${id.slice(0, 4)}`);
    },
    markExited(id) {
      log.push(`exited ${id.slice(0, 4)}`);
    },
  };
}

function setup() {
  const fake = new FakeEngine();
  fake.addImage('busybox:latest');
  const index = recorder();
  const engine = new IndexedEngine(fake, index);
  return { fake, index, engine };
}

describe('IndexedEngine', () => {
  it('re-reads a container after its create and start; a stop that succeeded marks it exited', async () => {
    const { engine, index } = setup();
    const id = await engine.createContainer({ name: 'a', Image: 'busybox:latest' });
    await engine.startContainer(id);
    await engine.stopContainer(id, 0);
    const s = id.slice(0, 4);
    expect(index.log).toEqual([`refresh create ${s}`, `refresh start ${s}`, `exited ${s}`]);
  });

  it('a stop answered 304 (not running) is re-read, not marked, and passed on', async () => {
    const { fake, engine, index } = setup();
    const id = fake.addContainer({ name: 'a', Image: 'busybox:latest' }, 'created');
    const err = await engine.stopContainer(id, 0).catch((e: unknown) => e);
    expect(isNotModified(err)).toBe(true);
    expect(index.log).toEqual([`refresh stop ${id.slice(0, 4)}`]);
  });

  it.each([
    ['start', dockerError(500, 'OCI runtime error')],
    ['start', dockerTimeout()],
    ['stop', dockerError(500, 'cannot kill')],
  ])('re-reads after a failed %s too, and passes the failure on', async (what, err) => {
    const { fake, engine, index } = setup();
    const id = fake.addContainer(
      { name: 'a', Image: 'busybox:latest' },
      what === 'stop' ? 'running' : 'created',
    );
    fake.fail(`container.${what}`, err);
    const call = what === 'start' ? engine.startContainer(id) : engine.stopContainer(id, 0);
    await expect(call).rejects.toThrow();
    expect(index.log).toEqual([`refresh ${what} ${id.slice(0, 4)}`]);
  });

  it('a 304 from start is passed on as "not modified" after the re-read', async () => {
    const { fake, engine, index } = setup();
    const id = fake.addContainer({ name: 'a', Image: 'busybox:latest' }, 'running');
    const err = await engine.startContainer(id).catch((e: unknown) => e);
    expect(isNotModified(err)).toBe(true);
    expect(index.log).toHaveLength(1);
  });

  it.each([
    ['succeeds', undefined, 'forget'],
    ['finds nothing (404)', dockerError(404, 'No such container'), 'forget'],
    ['finds a removal under way (409)', dockerError(409, 'removal already in progress'), 'refresh remove'],
    ['fails otherwise (500)', dockerError(500, 'device busy'), 'refresh remove'],
  ])('a remove that %s → %s', async (_what, err, expected) => {
    const { fake, engine, index } = setup();
    const id = fake.addContainer({ name: 'a', Image: 'busybox:latest' });
    if (err) fake.fail('container.remove', err);
    await engine.removeContainer(id).catch(() => undefined);
    expect(index.log).toEqual([`${expected} ${id.slice(0, 4)}`]);
  });

  it('leaves the index alone for calls that change no container state', async () => {
    const { fake, engine, index } = setup();
    const id = fake.addContainer({ name: 'a', Image: 'busybox:latest' }, 'running');
    await engine.inspectContainer(id);
    await engine.updateContainer(id, { CpuShares: 512 });
    await engine.listContainers({});
    await engine.createExec(id, {
      Cmd: ['true'],
      AttachStdin: false,
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
    });
    expect(index.log).toEqual([]);
  });
});
