import { EventEmitter } from 'events';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { PassThrough } from 'stream';
import type { LogEngine } from '../../src/logs/log-source';
import type { ContainerIndex, IndexedContainer } from '../../src/docker/container-index';
import { LogManager } from '../../src/logs/log-manager';
import { LABEL_LOG_PATH, LABEL_TYPE, TYPE_CONTAINER } from '../../src/translate/labels';

/**
 * The log manager's promises to handlers, over an in-memory index and engine: the file exists after
 * prepare(), and awaitComplete() returns once an exited container's output is in its file (or at
 * the deadline).
 */

const TS = '2026-11-25T11:04:30.000000000Z';
let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dcri-unit-manager-'));
  fs.mkdirSync(path.join(dir, 'pod', 'c'), { recursive: true });
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Docker's multiplexed log frame for one stdout message. */
function frame(text: string): Buffer {
  const body = Buffer.from(`${TS} ${text}\n`);
  const head = Buffer.alloc(8);
  head[0] = 1;
  head.writeUInt32BE(body.length, 4);
  return Buffer.concat([head, body]);
}

/** One container on a fake engine (log API only); `stream` is its log stream. */
function world(state: string): {
  manager: LogManager;
  stream: PassThrough;
  logPath: string;
  setState: (s: string) => void;
  /** What Docker's inspect says from now on, whatever the index holds. */
  setDockerState: (s: string) => void;
} {
  const logPath = path.join(dir, 'pod', 'c', '0.log');
  const stream = new PassThrough();
  const entry: IndexedContainer = {
    id: 'c1',
    name: 'k8s_c',
    labels: { [LABEL_TYPE]: TYPE_CONTAINER, [LABEL_LOG_PATH]: logPath },
    state,
    created: 0,
    image: 'busybox',
    imageId: 'sha256:0',
  } as IndexedContainer;
  const index = Object.assign(new EventEmitter(), {
    list: () => [entry],
    get: (id: string) => (id === 'c1' ? entry : undefined),
    refresh: async () => entry,
  });
  const docker: { state?: string } = {};
  const engine = {
    inspectContainer: async () => ({
      State: { Running: (docker.state ?? entry.state) === 'running', Restarting: false },
      Config: { Tty: false },
      LogPath: '',
      HostConfig: { LogConfig: { Type: 'local', Config: {} } },
    }),
    containerLogs: async () => stream,
  } as unknown as LogEngine;
  const manager = new LogManager(engine, index as unknown as ContainerIndex, {
    rootDirectory: path.join(dir, 'root'),
    lockDirectory: path.join(dir, 'locks'),
    retryMs: 60_000,
  });
  return {
    manager,
    stream,
    logPath,
    setState: (s) => (entry.state = s),
    setDockerState: (s) => (docker.state = s),
  };
}

describe('LogManager', () => {
  it('prepare() creates the file before the container runs', async () => {
    const w = world('created');
    await w.manager.prepare('c1', w.logPath);
    expect(fs.lstatSync(w.logPath).isFile()).toBe(true);
    await w.manager.stop();
  });

  it('awaitComplete() returns once the exited container’s output is in the file', async () => {
    const w = world('exited');
    w.stream.write(frame('one'));
    const waiting = w.manager.awaitComplete(['c1'], Date.now() + 60_000);
    let done = false;
    void waiting.then(() => (done = true));
    await new Promise((r) => setTimeout(r, 50));
    // Docker has not sent everything yet: the answer waits.
    expect(done).toBe(false);
    w.stream.end(frame('two'));
    await waiting;
    expect(fs.readFileSync(w.logPath, 'utf8')).toBe(`${TS} stdout F one\n${TS} stdout F two\n`);
    // Known complete from now on: no wait, no pump.
    await w.manager.awaitComplete(['c1'], Date.now());
    expect(w.manager.pumpCount()).toBe(0);
    await w.manager.stop();
  });

  it('awaitComplete() gives up at the deadline, and does not wait for running or unknown containers', async () => {
    const w = world('exited');
    // Docker does not end this stream: the answer still goes out, at the deadline.
    await w.manager.awaitComplete(['c1'], Date.now() + 100);
    w.setState('running');
    await w.manager.awaitComplete(['c1', 'unknown'], Date.now() + 60_000);
    w.stream.end();
    await w.manager.stop();
  });

  it('awaitComplete() told by the caller that the container exited waits for its output, though the index still says running', async () => {
    // The index has not caught up with the exit (its read after Docker's event is late or failed);
    // ContainerStatus's own inspect saw it exited.
    const w = world('running');
    w.manager.start();
    w.stream.write(frame('one'));
    w.setDockerState('exited');
    const waiting = w.manager.awaitComplete(['c1'], Date.now() + 60_000, {
      exited: true,
      logPath: w.logPath,
    });
    let done = false;
    void waiting.then(() => (done = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(done).toBe(false);
    w.stream.end(frame('two'));
    await waiting;
    expect(fs.readFileSync(w.logPath, 'utf8')).toBe(`${TS} stdout F one\n${TS} stdout F two\n`);
    await w.manager.stop();
  });
});

describe('LogManager and another docker-cri process on the same engine', () => {
  /** Docker's json-file line for one stdout message, stamped `n` ms after TS. */
  const jsonLine = (n: number): string =>
    JSON.stringify({
      log: `${n}\n`,
      stream: 'stdout',
      time: new Date(Date.parse(TS) + n).toISOString().replace('Z', '000000Z'),
    }) + '\n';

  /** A running container logging to a json-file, seen by a manager with its own root directory. */
  function process_(name: string, logPath: string, jsonFile: string): LogManager {
    const entry = {
      id: 'c1',
      name: 'k8s_c',
      labels: { [LABEL_TYPE]: TYPE_CONTAINER, [LABEL_LOG_PATH]: logPath },
      state: 'running',
      created: 0,
      image: 'busybox',
      imageId: 'sha256:0',
    } as IndexedContainer;
    const index = Object.assign(new EventEmitter(), {
      list: () => [entry],
      get: (id: string) => (id === 'c1' ? entry : undefined),
      refresh: async () => entry,
    });
    const engine = {
      inspectContainer: async () => ({
        State: { Running: true, Restarting: false },
        Config: { Tty: false },
        LogPath: jsonFile,
        HostConfig: { LogConfig: { Type: 'json-file', Config: {} } },
      }),
      containerLogs: async () => {
        throw new Error('not used: the json-file is read directly');
      },
    } as unknown as LogEngine;
    return new LogManager(engine, index as unknown as ContainerIndex, {
      rootDirectory: path.join(dir, name),
      lockDirectory: path.join(dir, 'locks'),
      retryMs: 100,
    });
  }

  const lines = (logPath: string): string[] =>
    (fs.existsSync(logPath) ? fs.readFileSync(logPath, 'utf8') : '')
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(' ').slice(3).join(' '));

  async function until(what: () => boolean): Promise<void> {
    for (let i = 0; i < 500 && !what(); i++) await new Promise((r) => setTimeout(r, 20));
  }

  it('writes each line once after its pump lock is removed under it (dpkg --purge takes /run/docker-cri)', async () => {
    const logPath = path.join(dir, 'pod', 'c', '0.log');
    const jsonFile = path.join(dir, 'docker', 'c1-json.log');
    fs.mkdirSync(path.dirname(jsonFile));
    fs.writeFileSync(jsonFile, [1, 2, 3].map(jsonLine).join(''));
    const a = process_('a', logPath, jsonFile);
    const b = process_('b', logPath, jsonFile);
    try {
      await a.prepare('c1', logPath);
      a.start();
      await until(() => lines(logPath).length >= 3);
      // The second process sees the container too; the lock keeps it from writing.
      b.start();
      await new Promise((r) => setTimeout(r, 300));
      expect(b.pumpCount()).toBe(0);
      fs.rmSync(path.join(dir, 'locks'), { recursive: true, force: true });
      // Several of b's retries and a's lock checks.
      await new Promise((r) => setTimeout(r, 600));
      for (let n = 4; n <= 20; n++) {
        fs.appendFileSync(jsonFile, jsonLine(n));
        await new Promise((r) => setTimeout(r, 20));
      }
      await until(() => lines(logPath).length >= 20);
      await new Promise((r) => setTimeout(r, 300));
      expect(lines(logPath)).toEqual(Array.from({ length: 20 }, (_, i) => String(i + 1)));
      expect(a.pumpCount() + b.pumpCount()).toBe(1);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
  it('stops its pump when another process took the lock while it was gone', async () => {
    const { PumpLocks } = await import('../../src/logs/pump-lock');
    const logPath = path.join(dir, 'pod', 'c', '0.log');
    const jsonFile = path.join(dir, 'docker', 'c1-json.log');
    fs.mkdirSync(path.dirname(jsonFile));
    fs.writeFileSync(jsonFile, [1, 2, 3].map(jsonLine).join(''));
    const a = process_('a', logPath, jsonFile);
    try {
      a.start();
      await until(() => lines(logPath).length >= 3);
      expect(a.pumpCount()).toBe(1);
      // Another process that never saw the lock held takes it at once.
      fs.rmSync(path.join(dir, 'locks'), { recursive: true, force: true });
      expect(await new PumpLocks(path.join(dir, 'locks')).acquire('c1')).toEqual({ ok: true });
      await until(() => a.pumpCount() === 0);
      expect(a.pumpCount()).toBe(0);
      fs.appendFileSync(jsonFile, jsonLine(4));
      await new Promise((r) => setTimeout(r, 300));
      // The other process writes from here on (resuming from the file); this one does not.
      expect(lines(logPath)).toEqual(['1', '2', '3']);
    } finally {
      await a.stop();
    }
  });
});

describe('PumpLocks.reassert', () => {
  it('puts back a removed lock, and reports one another process holds now', async () => {
    const { PumpLocks } = await import('../../src/logs/pump-lock');
    const locks = path.join(dir, 'locks');
    const a = new PumpLocks(locks);
    const other = new PumpLocks(locks);
    expect(await a.acquire('c1')).toEqual({ ok: true });
    expect(await a.acquire('c2')).toEqual({ ok: true });
    const mine = fs.readFileSync(path.join(locks, 'c1.lock'), 'utf8');
    // The other process sees c1 held by a live process.
    expect((await other.acquire('c1')).ok).toBe(false);
    fs.rmSync(locks, { recursive: true, force: true });
    // It finds the lock gone before the holder looked: it leaves it to the holder for one more look.
    expect((await other.acquire('c1')).ok).toBe(false);
    expect(fs.existsSync(path.join(locks, 'c1.lock'))).toBe(false);
    // Never seen held, c2 is taken at once: its holder loses it.
    expect(await other.acquire('c2')).toEqual({ ok: true });
    expect(await a.reassert()).toEqual(['c2']);
    expect(fs.readFileSync(path.join(locks, 'c1.lock'), 'utf8')).toBe(mine);
    expect((await other.acquire('c1')).ok).toBe(false);
    expect(await a.reassert()).toEqual([]);
  });
});

describe('PumpLocks.reassert at rest', () => {
  it('reads no lock while the directory holds still, and sees a lock taken after a quiet look', async () => {
    const { PumpLocks } = await import('../../src/logs/pump-lock');
    const locks = path.join(dir, 'locks');
    const a = new PumpLocks(locks);
    expect(await a.acquire('c1')).toEqual({ ok: true });
    expect(await a.acquire('c2')).toEqual({ ok: true });
    const old = new Date(Date.now() - 60_000);
    fs.utimesSync(locks, old, old);
    expect(await a.reassert()).toEqual([]);

    // Changed in place (docker-cri never does) with the directory's time put back: a look that
    // trusts the directory does not read the file.
    const file = path.join(locks, 'c1.lock');
    const mine = fs.readFileSync(file, 'utf8');
    fs.writeFileSync(file, '1 someone-else');
    fs.utimesSync(locks, old, old);
    expect(await a.reassert()).toEqual([]);
    fs.writeFileSync(file, mine);
    fs.utimesSync(locks, old, old);

    // The way a lock is really lost: removed, then made by another process. The directory changed.
    fs.rmSync(path.join(locks, 'c2.lock'));
    expect(await new PumpLocks(locks).acquire('c2')).toEqual({ ok: true });
    expect(await a.reassert()).toEqual(['c2']);
    expect(fs.readFileSync(file, 'utf8')).toBe(mine);
  });
});
