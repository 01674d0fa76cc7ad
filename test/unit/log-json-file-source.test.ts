import { EventEmitter } from 'events';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { JsonFileSource, type JsonFileOptions } from '../../src/logs/json-file-source';
import { JsonLogDecoder, type DecodedSink } from '../../src/logs/json-log-decoder';

/**
 * The json-file follower on files written here the way Docker writes and rotates them (no engine):
 * rotated files first, appends, renames, files deleted while open, truncation, `since`.
 */

let dir: string;
let logPath: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dcri-jsonsrc-'));
  logPath = path.join(dir, 'c-json.log');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Line i: stamped i ms after a fixed second, so timestamps follow the numbers. */
function ts(i: number): string {
  const ms = Date.UTC(2026, 10, 25, 11, 0, 0) + i;
  return new Date(ms).toISOString().replace('Z', '000000Z');
}
function json(from: number, to: number): string {
  let s = '';
  for (let i = from; i < to; i++) s += `{"log":"line-${i}\\n","stream":"stdout","time":"${ts(i)}"}\n`;
  return s;
}

function follower(
  since?: string,
  extra: Partial<JsonFileOptions> = {},
): {
  lines: string[];
  open: () => Promise<JsonFileSource>;
  run: (src: JsonFileSource) => Promise<'end' | 'stopped' | 'idle'>;
} {
  const lines: string[] = [];
  const sink: DecodedSink = {
    message: (_s, b, st, e) => lines.push(b.toString('utf8', st, e).split(' ')[1].trimEnd()),
    line: (_s, _tb, _ts, _te, b, cs, ce) => lines.push(b.toString('utf8', cs, ce)),
  };
  const decoder = new JsonLogDecoder(undefined, since);
  return {
    lines,
    open: () => JsonFileSource.open({ logPath, decoder, since, pollMs: 200, batchMs: 5, ...extra }),
    // Every batch emitted before the next is read, as the pump does.
    run: async (src) => {
      const it = src.batches();
      for (;;) {
        const r = await it.next();
        if (r.done) return r.value;
        r.value.emit(sink);
      }
    },
  };
}

const range = (from: number, to: number): string[] =>
  Array.from({ length: to - from }, (_, i) => `line-${from + i}`);
const until = async (cond: () => boolean): Promise<void> => {
  const end = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};

/** Docker's rotation: `.k` → `.k+1` (the last one dropped), the file → `.1`, a new empty file. */
function rotate(maxFiles: number): void {
  fs.rmSync(`${logPath}.${maxFiles - 1}`, { force: true });
  for (let k = maxFiles - 2; k >= 1; k--) {
    if (fs.existsSync(`${logPath}.${k}`)) fs.renameSync(`${logPath}.${k}`, `${logPath}.${k + 1}`);
  }
  fs.renameSync(logPath, `${logPath}.1`);
  fs.writeFileSync(logPath, '');
}

describe('following a json-file log', () => {
  it('reads rotated files oldest first, then the file, then what is appended and rotated, until finish()', async () => {
    fs.writeFileSync(`${logPath}.2`, json(0, 100));
    fs.writeFileSync(`${logPath}.1`, json(100, 200));
    fs.writeFileSync(logPath, json(200, 300));
    const f = follower();
    const src = await f.open();
    const done = f.run(src);
    await until(() => f.lines.length === 300);
    fs.appendFileSync(logPath, json(300, 350));
    await until(() => f.lines.length === 350);
    rotate(3);
    fs.appendFileSync(logPath, json(350, 400));
    rotate(3);
    fs.appendFileSync(logPath, json(400, 450));
    await until(() => f.lines.length === 450);
    fs.appendFileSync(logPath, json(450, 460));
    src.finish();
    expect(await done).toBe('end');
    expect(f.lines).toEqual(range(0, 460));
  });

  it('finishes a file Docker deleted while it was open, then goes on with the files after it', async () => {
    fs.writeFileSync(logPath, json(0, 10));
    const f = follower();
    const src = await f.open();
    // All before the first read: two rotations with max-file 2 drop the open file.
    fs.appendFileSync(logPath, json(10, 20));
    rotate(2);
    fs.appendFileSync(logPath, json(20, 30));
    rotate(2);
    fs.appendFileSync(logPath, json(30, 40));
    expect(fs.existsSync(`${logPath}.2`)).toBe(false);
    const done = f.run(src);
    await until(() => f.lines.length === 40);
    src.finish();
    expect(await done).toBe('end');
    expect(f.lines).toEqual(range(0, 40));
  });

  it('starts over after a truncation in place (max-file 1)', async () => {
    fs.writeFileSync(logPath, json(0, 50));
    const f = follower();
    const src = await f.open();
    const done = f.run(src);
    await until(() => f.lines.length === 50);
    fs.truncateSync(logPath, 0);
    fs.appendFileSync(logPath, json(50, 55));
    await until(() => f.lines.length === 55);
    src.finish();
    expect(await done).toBe('end');
    expect(f.lines).toEqual(range(0, 55));
  });

  it('with since, skips whole rotated files and bisects into the first one it needs', async () => {
    fs.writeFileSync(`${logPath}.2`, json(0, 20_000));
    fs.writeFileSync(`${logPath}.1`, json(20_000, 40_000));
    fs.writeFileSync(logPath, json(40_000, 41_000));
    const f = follower(ts(30_000));
    const src = await f.open();
    src.finish();
    expect(await f.run(src)).toBe('end');
    expect(f.lines).toEqual(range(30_000, 41_000));
  });

  it('ends at stop() with the files closed', async () => {
    fs.writeFileSync(logPath, json(0, 5));
    const f = follower();
    const src = await f.open();
    const done = f.run(src);
    await until(() => f.lines.length === 5);
    src.stop();
    expect(await done).toBe('stopped');
  });

  it('refuses a log it cannot open (the caller uses the API)', async () => {
    await expect(follower().open()).rejects.toThrow(/ENOENT/);
  });
});

describe('a quiet file ends the batches idle, and reading goes on from where it stopped', () => {
  const IDLE = { idleAfterMs: 150 };

  it('ends idle once the file has been quiet that long, with where it stopped', async () => {
    fs.writeFileSync(logPath, json(0, 20));
    const f = follower(undefined, IDLE);
    const src = await f.open();
    const t0 = Date.now();
    expect(await f.run(src)).toBe('idle');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(150);
    expect(f.lines).toEqual(range(0, 20));
    expect(src.endedAt).toEqual({ ino: fs.statSync(logPath).ino, off: fs.statSync(logPath).size });
  });

  it('a write while quiet starts the quiet time over: nothing is left unread when it ends', async () => {
    fs.writeFileSync(logPath, json(0, 5));
    const f = follower(undefined, IDLE);
    const src = await f.open();
    const done = f.run(src);
    for (let i = 5; i < 10; i++) {
      await new Promise((r) => setTimeout(r, 60));
      fs.appendFileSync(logPath, json(i, i + 1));
    }
    expect(await done).toBe('idle');
    expect(f.lines).toEqual(range(0, 10));
    expect(src.endedAt?.off).toBe(fs.statSync(logPath).size);
  });

  it('does not end idle with part of a line read (Docker writing it): it waits for the rest', async () => {
    const whole = json(0, 2);
    fs.writeFileSync(logPath, whole.slice(0, whole.length - 10));
    const f = follower(undefined, { ...IDLE, pollMs: 50 });
    const src = await f.open();
    const done = f.run(src);
    await new Promise((r) => setTimeout(r, 400));
    expect(f.lines).toEqual(['line-0']);
    fs.appendFileSync(logPath, whole.slice(whole.length - 10));
    expect(await done).toBe('idle');
    expect(f.lines).toEqual(range(0, 2));
  });

  it('never ends idle without idleAfterMs, nor once finish() was called', async () => {
    fs.writeFileSync(logPath, json(0, 3));
    const f = follower();
    const src = await f.open();
    const done = f.run(src);
    await new Promise((r) => setTimeout(r, 400));
    src.finish();
    expect(await done).toBe('end');
  });

  /** Lines 0-9 read until the source ends idle; where it stopped. */
  async function readUntilIdle(): Promise<{ ino: number; off: number }> {
    fs.writeFileSync(logPath, json(0, 10));
    const first = follower(undefined, IDLE);
    const a = await first.open();
    expect(await first.run(a)).toBe('idle');
    return a.endedAt as { ino: number; off: number };
  }

  it('reopen() reads on from the offset it stopped at, the same file grown', async () => {
    const at = await readUntilIdle();
    fs.appendFileSync(logPath, json(10, 15));
    const second = follower(undefined, IDLE);
    const b = await JsonFileSource.reopen(
      { logPath, decoder: new JsonLogDecoder(undefined), pollMs: 200, batchMs: 5 },
      at,
    );
    expect(b).toBeDefined();
    const done = second.run(b as JsonFileSource);
    await until(() => second.lines.length === 5);
    (b as JsonFileSource).finish();
    expect(await done).toBe('end');
    expect(second.lines).toEqual(range(10, 15));
  });

  it.each([
    ['rotated', (): void => rotate(3)],
    ['truncated in place', (): void => fs.truncateSync(logPath, 0)],
    ['removed', (): void => fs.rmSync(logPath)],
  ])(
    'reopen() gives up on a file %s meanwhile: the caller finds its place by time',
    async (_what, change) => {
      const at = await readUntilIdle();
      change();
      const b = await JsonFileSource.reopen({ logPath, decoder: new JsonLogDecoder(undefined) }, at);
      expect(b).toBeUndefined();
    },
  );
});

describe('the safety-net poll of a watched, quiet file', () => {
  /** A watch that never signals: as if inotify had dropped every event (queue overflow). */
  function deafWatch(): jest.SpyInstance {
    return jest.spyOn(fs, 'watch').mockImplementation(() => {
      const w = new EventEmitter() as fs.FSWatcher;
      w.close = () => undefined;
      return w;
    });
  }
  afterEach(() => jest.restoreAllMocks());

  it('reads at once a write signalled while the safety-net stat was out', async () => {
    let signal: (() => void) | undefined;
    let armedAt = Infinity;
    jest.spyOn(fs, 'watch').mockImplementation(((_p: string, _o: unknown, listener: () => void) => {
      signal = listener;
      armedAt = Date.now();
      const w = new EventEmitter() as fs.FSWatcher;
      w.close = () => undefined;
      return w;
    }) as unknown as typeof fs.watch);
    fs.writeFileSync(logPath, json(0, 10));
    const lines: string[] = [];
    const decoder = new JsonLogDecoder(undefined);
    const pollMs = 3000;
    const src = await JsonFileSource.open({ logPath, decoder, pollMs, batchMs: 5 });
    const realStat = fs.promises.stat.bind(fs.promises);
    let raced = false;
    // The first safety-net look (a poll after the watch was armed): while its stat is out, Docker
    // appends and the watch signals; the stat answers with the file as it was.
    jest.spyOn(fs.promises, 'stat').mockImplementation((async (p: fs.PathLike) => {
      const st = await realStat(p);
      if (!raced && Date.now() - armedAt >= pollMs - 100) {
        raced = true;
        fs.appendFileSync(logPath, json(10, 15));
        signal?.();
      }
      return st;
    }) as typeof fs.promises.stat);
    const done = (async () => {
      const it = src.batches();
      for (;;) {
        const r = await it.next();
        if (r.done) return r.value;
        r.value.emit({
          message: () => undefined,
          line: (_s, _tb, _ts, _te, b, cs, ce) => lines.push(b.toString('utf8', cs, ce)),
        });
      }
    })();
    try {
      await until(() => raced);
      // Read well before the next poll: it does not wait for one.
      const by = Date.now() + pollMs / 2;
      while (lines.length < 15 && Date.now() < by) await new Promise((r) => setTimeout(r, 10));
      expect(lines).toEqual(range(0, 15));
    } finally {
      src.stop();
      await done.catch(() => undefined);
    }
  });

  it('finds the file unchanged with one stat and no read, and reads what a missed event hid', async () => {
    const watch = deafWatch();
    fs.writeFileSync(logPath, json(0, 10));
    // FileHandle is not exported: its prototype is reached through a handle.
    const probe = await fs.promises.open(logPath, 'r');
    const handleProto = Object.getPrototypeOf(probe) as { read: () => unknown };
    await probe.close();
    const f = follower();
    const src = await f.open();
    const done = f.run(src);
    try {
      await until(() => f.lines.length === 10);
      expect(watch).toHaveBeenCalled();
      const stat = jest.spyOn(fs.promises, 'stat');
      const read = jest.spyOn(handleProto, 'read');
      // Quiet for several polls (200 ms each): only stats of the path.
      await new Promise((r) => setTimeout(r, 700));
      expect(stat.mock.calls.length).toBeGreaterThanOrEqual(2);
      expect(stat.mock.calls.every(([p]) => p === logPath)).toBe(true);
      expect(read).not.toHaveBeenCalled();
      // A write no event announced is read by the next poll.
      fs.appendFileSync(logPath, json(10, 15));
      await until(() => f.lines.length === 15);
      expect(f.lines).toEqual(range(0, 15));
      src.finish();
      await expect(done).resolves.toBe('end');
    } finally {
      src.stop();
      await done.catch(() => undefined);
    }
  });
});
