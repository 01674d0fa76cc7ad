import fs from 'fs';
import os from 'os';
import path from 'path';
import { waitForChange } from '../../src/logs/idle-wait';
import type { IdleMark } from '../../src/logs/log-source';

/** What a dozing pump waits on, on a directory laid out as Docker's container directory. */

let dir: string;
let file: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dcri-idle-wait-'));
  file = path.join(dir, 'c-json.log');
  fs.writeFileSync(file, '{"log":"a\\n","stream":"stdout","time":"2026-12-07T08:00:00.000000000Z"}\n');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const markOf = (f: string): IdleMark => {
  const st = fs.statSync(f);
  return { file: f, ino: st.ino, off: st.size };
};
const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** Whether `p` has settled within `ms`. */
function settledWithin(p: Promise<void>, ms: number): Promise<boolean> {
  return Promise.race([p.then(() => true), pause(ms).then(() => false)]);
}

describe('waitForChange', () => {
  it.each([
    ['an append to the file', (): void => fs.appendFileSync(file, 'x\n')],
    ['a rotation (the file renamed to .1)', (): void => fs.renameSync(file, `${file}.1`)],
    ['the file removed', (): void => fs.rmSync(file)],
  ])('wakes on %s', async (_what, change) => {
    const wait = waitForChange(markOf(file), 60_000, new AbortController().signal);
    expect(await settledWithin(wait.done, 100)).toBe(false);
    change();
    expect(await settledWithin(wait.done, 2_000)).toBe(true);
  });

  it('sleeps through Docker rewriting the container’s other files in the same directory', async () => {
    const wait = waitForChange(markOf(file), 60_000, new AbortController().signal);
    await pause(50);
    for (const other of ['config.v2.json', 'hostconfig.json', 'c-json.log-other', 'resolv.conf']) {
      fs.writeFileSync(path.join(dir, other), '{}');
    }
    expect(await settledWithin(wait.done, 300)).toBe(false);
    wait.wake();
    expect(await settledWithin(wait.done, 50)).toBe(true);
  });

  it('wakes at once when the file already differs from the mark (written before the watch began)', async () => {
    const mark = markOf(file);
    fs.appendFileSync(file, 'x\n');
    const wait = waitForChange(mark, 60_000, new AbortController().signal);
    expect(await settledWithin(wait.done, 500)).toBe(true);
  });

  it('ends on abort, also one signalled before it began, and holds no watch after', async () => {
    const ac = new AbortController();
    const wait = waitForChange(markOf(file), 60_000, ac.signal);
    ac.abort();
    expect(await settledWithin(wait.done, 50)).toBe(true);
    const late = waitForChange(markOf(file), 60_000, ac.signal);
    expect(await settledWithin(late.done, 50)).toBe(true);
    // Waking twice is harmless.
    wait.wake();
    late.wake();
  });
});
