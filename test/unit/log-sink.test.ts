import fs from 'fs';
import os from 'os';
import path from 'path';
import { adoptionTemp, createLogFile, LogSink, pathKind } from '../../src/logs/log-sink';

/** The log file's owner on a temp directory: never through a link, adoption in one rename. */

let dir: string;
let log: string;
/** Stands in for Docker's own `<id>-json.log`, which must never be written. */
let dockers: string;
const DOCKER_BYTES = '{"log":"hello\\n","stream":"stdout","time":"2026-11-25T11:04:30.000000000Z"}\n';

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dcri-unit-sink-'));
  log = path.join(dir, 'app', '0.log');
  fs.mkdirSync(path.dirname(log));
  dockers = path.join(dir, 'docker-json.log');
  fs.writeFileSync(dockers, DOCKER_BYTES);
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const rec = (n: number): Buffer => Buffer.from(`2026-11-25T11:04:30.000000000Z stdout F line-${n}\n`);

describe('LogSink', () => {
  it('appends to a regular file and leaves what was there', async () => {
    fs.writeFileSync(log, rec(0));
    const sink = await LogSink.open(log, false);
    await sink.write(rec(1));
    await sink.close();
    expect(fs.readFileSync(log, 'utf8')).toBe(`${rec(0)}${rec(1)}`);
    expect(sink.bytes).toBe(rec(1).length);
  });

  it('refuses a symlink when not adopting: never opens through it', async () => {
    fs.symlinkSync(dockers, log);
    await expect(LogSink.open(log, false)).rejects.toMatchObject({ code: 'ELOOP' });
    expect(fs.readFileSync(dockers, 'utf8')).toBe(DOCKER_BYTES);
  });

  it('adopts a symlink: writes go to a temp file until settle(), which renames it over the link', async () => {
    fs.symlinkSync(dockers, log);
    const sink = await LogSink.open(log, true);
    expect(sink.adopting).toBe(true);
    await sink.write(rec(0));
    // Until settled, a reader of the path still sees the link (and Docker's file behind it).
    expect(await pathKind(log)).toBe('link');
    await sink.settle();
    expect(sink.adopting).toBe(false);
    expect(await pathKind(log)).toBe('file');
    await sink.write(rec(1));
    await sink.close();
    expect(fs.readFileSync(log, 'utf8')).toBe(`${rec(0)}${rec(1)}`);
    expect(fs.readFileSync(dockers, 'utf8')).toBe(DOCKER_BYTES);
    expect(fs.readdirSync(path.dirname(log))).toEqual(['0.log']);
  });

  it('adopts a missing path the same way (dockershim after a reboot)', async () => {
    const sink = await LogSink.open(log, true);
    await sink.write(rec(0));
    expect(fs.existsSync(log)).toBe(false);
    await sink.close();
    expect(fs.readFileSync(log, 'utf8')).toBe(`${rec(0)}`);
  });

  it('does not rename over a path that changed meanwhile; the temp file is removed at close', async () => {
    fs.symlinkSync(dockers, log);
    const sink = await LogSink.open(log, true);
    await sink.write(rec(0));
    fs.unlinkSync(log);
    fs.writeFileSync(log, 'someone else\n');
    await expect(sink.settle()).rejects.toThrow(/changed while its log was being adopted/);
    expect(sink.error).toBeDefined();
    await sink.close();
    expect(fs.readFileSync(log, 'utf8')).toBe('someone else\n');
    expect(fs.existsSync(adoptionTemp(log))).toBe(false);
  });

  it('starts an adoption over when a dead process left its temp file', async () => {
    fs.writeFileSync(adoptionTemp(log), 'half of an earlier try\n');
    const sink = await LogSink.open(log, true);
    await sink.write(rec(0));
    await sink.close();
    expect(fs.readFileSync(log, 'utf8')).toBe(`${rec(0)}`);
  });

  it('reopen: the old file keeps what was written, writes during the swap go to the new one in order', async () => {
    const sink = await LogSink.open(log, false);
    await sink.write(rec(0));
    let between = false;
    const swapping = sink.reopen(async () => {
      fs.renameSync(log, `${log}.1`);
      between = true;
    });
    const held = sink.write(rec(1));
    expect(held).toBeInstanceOf(Promise);
    await swapping;
    await held;
    await sink.write(rec(2));
    await sink.close();
    expect(between).toBe(true);
    expect(fs.readFileSync(`${log}.1`, 'utf8')).toBe(`${rec(0)}`);
    expect(fs.readFileSync(log, 'utf8')).toBe(`${rec(1)}${rec(2)}`);
  });

  it('asks the writer to wait when more than its high-water mark is buffered', async () => {
    const sink = await LogSink.open(log, false, { highWaterMark: 16 });
    const wait = sink.write(Buffer.alloc(1024, 0x61));
    expect(wait).toBeInstanceOf(Promise);
    await wait;
    await sink.close();
    expect(fs.statSync(log).size).toBe(1024);
  });
});

describe('LogSink descriptors', () => {
  const openFds = (): number => fs.readdirSync('/proc/self/fd').length;

  it.each([
    ['a plain file, written and closed', false, false],
    ['a plain file, reopened once', false, true],
    ['an adoption, settled and closed', true, false],
  ])('%s: every descriptor it opened is closed', async (_what, adopt, reopen) => {
    if (adopt) fs.symlinkSync(dockers, log);
    const before = openFds();
    const sink = await LogSink.open(log, adopt);
    await sink.write(rec(1));
    if (reopen) await sink.reopen();
    if (adopt) await sink.settle();
    await sink.write(rec(2));
    await sink.close();
    // The stream closes its descriptor after its 'finish': give that callback its turn.
    await new Promise((r) => setImmediate(r));
    expect(openFds()).toBe(before);
    expect(fs.readFileSync(log, 'utf8')).toContain('line-2');
  });

  it('a file that failed is not synced through a descriptor that may be another file now', async () => {
    fs.symlinkSync(dockers, log);
    const errors: Error[] = [];
    const sink = await LogSink.open(log, true, { onError: (e) => errors.push(e) });
    // The stream fails as a full disk would; it destroys itself and closes its descriptor.
    (sink as unknown as { file: { ws: fs.WriteStream } }).file.ws.destroy(new Error('ENOSPC'));
    // Whether the stream's own error has come through yet or not, nothing is synced or renamed.
    await expect(sink.settle()).rejects.toThrow();
    await sink.close();
    expect(errors).toHaveLength(1);
    expect(sink.error).toBe(errors[0]);
    // The link and Docker's file are as they were: nothing was renamed over them.
    expect(fs.lstatSync(log).isSymbolicLink()).toBe(true);
    expect(fs.readFileSync(dockers, 'utf8')).toBe(DOCKER_BYTES);
  });
});

describe('LogSink suspended while its container writes nothing', () => {
  const openFds = (): number => fs.readdirSync('/proc/self/fd').length;
  const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

  it('holds no descriptor while suspended; resume() appends to the same path', async () => {
    const before = openFds();
    const sink = await LogSink.open(log, false);
    await sink.write(rec(1));
    await sink.suspend();
    await settle();
    expect(sink.suspended).toBe(true);
    expect(openFds()).toBe(before);
    // What was written before is in the file already.
    expect(fs.readFileSync(log, 'utf8')).toBe(`${rec(1)}`);
    await sink.resume();
    expect(sink.suspended).toBe(false);
    await sink.write(rec(2));
    await sink.close();
    await settle();
    expect(openFds()).toBe(before);
    expect(fs.readFileSync(log, 'utf8')).toBe(`${rec(1)}${rec(2)}`);
  });

  it.each([
    ['a write with no resume', false],
    ['writes handed over while the file is being closed', true],
  ])('%s: opens the file again and keeps the order', async (_what, during) => {
    const sink = await LogSink.open(log, false);
    await sink.write(rec(1));
    const closing = sink.suspend();
    if (!during) await closing;
    const waits = [sink.write(rec(2)), sink.write(rec(3))];
    await closing;
    await Promise.all(waits);
    await sink.write(rec(4));
    await sink.close();
    expect(fs.readFileSync(log, 'utf8')).toBe(`${rec(1)}${rec(2)}${rec(3)}${rec(4)}`);
    expect(sink.error).toBeUndefined();
  });

  it('ReopenContainerLog while suspended: the new file is made at once and the next write goes there', async () => {
    const sink = await LogSink.open(log, false);
    await sink.write(rec(1));
    await sink.suspend();
    // The kubelet renames the file, asks for a reopen, then looks for the new file right away.
    fs.renameSync(log, `${log}.20261207-080000`);
    const order: string[] = [];
    await sink.reopen(async () => {
      order.push('between');
    });
    expect(order).toEqual(['between']);
    expect(fs.readFileSync(log, 'utf8')).toBe('');
    expect(sink.suspended).toBe(true);
    await sink.write(rec(2));
    await sink.close();
    expect(fs.readFileSync(`${log}.20261207-080000`, 'utf8')).toBe(`${rec(1)}`);
    expect(fs.readFileSync(log, 'utf8')).toBe(`${rec(2)}`);
  });

  it('an adopting sink is not suspended: its temp file must stay open until the rename', async () => {
    fs.symlinkSync(dockers, log);
    const sink = await LogSink.open(log, true);
    await sink.write(rec(1));
    await sink.suspend();
    expect(sink.suspended).toBe(false);
    await sink.settle();
    await sink.close();
    expect(fs.readFileSync(log, 'utf8')).toBe(`${rec(1)}`);
    expect(fs.readFileSync(dockers, 'utf8')).toBe(DOCKER_BYTES);
  });

  it('closing a suspended sink closes nothing twice and writes nothing more', async () => {
    const before = openFds();
    const sink = await LogSink.open(log, false);
    await sink.write(rec(1));
    await sink.suspend();
    await sink.close();
    expect(sink.suspended).toBe(false);
    expect(sink.write(rec(2))).toBeUndefined();
    await settle();
    expect(openFds()).toBe(before);
    expect(fs.readFileSync(log, 'utf8')).toBe(`${rec(1)}`);
  });
});

describe('createLogFile', () => {
  it('creates the file, keeps an existing one, and leaves a symlink (and what it points to) alone', async () => {
    await createLogFile(log);
    expect(fs.lstatSync(log).isFile()).toBe(true);
    fs.writeFileSync(log, 'kept\n');
    await createLogFile(log);
    expect(fs.readFileSync(log, 'utf8')).toBe('kept\n');
    fs.unlinkSync(log);
    fs.symlinkSync(dockers, log);
    await createLogFile(log);
    expect(fs.lstatSync(log).isSymbolicLink()).toBe(true);
    expect(fs.readFileSync(dockers, 'utf8')).toBe(DOCKER_BYTES);
  });
});
