import fs from 'fs';
import os from 'os';
import path from 'path';
import { findResumePoint, writePos } from '../../src/logs/log-resume';

/** Resume points read back from files in a temp directory (no Docker). */

const T1 = '2026-11-25T11:04:30.000000000Z';
const T2 = '2026-11-25T11:04:31.000000000Z';
const T3 = '2026-11-25T11:04:31.000000500Z';
let dir: string;
let log: string;
let pos: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dcri-unit-resume-'));
  log = path.join(dir, '0.log');
  pos = path.join(dir, 'root', 'x.pos');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('findResumePoint', () => {
  it('is undefined with no file at all: from the beginning', async () => {
    expect(await findResumePoint(log, pos)).toBeUndefined();
  });

  it('cuts a torn last line off the file and resumes before it', async () => {
    fs.writeFileSync(log, `${T1} stdout F one\n${T2} stdout F two\n${T3} stdout F thr`);
    const at = await findResumePoint(log, pos);
    expect(fs.readFileSync(log, 'utf8')).toBe(`${T1} stdout F one\n${T2} stdout F two\n`);
    expect(at).toMatchObject({ ts: '2026-11-25T11:04:30.750000000Z', units: 4 });
  });

  it('goes on into the newest rotated file when the window reaches past the current one', async () => {
    fs.writeFileSync(`${log}.20261125-100000.gz`, 'not read');
    fs.writeFileSync(`${log}.20261125-110000`, `${T1} stdout F one\n${T2} stderr F two\n`);
    fs.writeFileSync(log, `${T3} stdout F three\n`);
    expect(await findResumePoint(log, pos)).toEqual({
      ts: '2026-11-25T11:04:30.750000500Z',
      units: 4 + 6,
      window: [
        [T2, 4],
        [T3, 6],
      ],
    });
  });

  it('uses the rotated file alone when the new one is still empty, and the position file when both are gone', async () => {
    fs.writeFileSync(`${log}.20261125-110000`, `${T2} stdout F two\n`);
    fs.writeFileSync(log, '');
    expect(await findResumePoint(log, pos)).toMatchObject({ units: 4 });
    fs.rmSync(`${log}.20261125-110000`);
    await writePos(pos, { at: { ts: T2, units: 7 } });
    expect(await findResumePoint(log, pos)).toEqual({ ts: T2, units: 7 });
  });

  it('reads far enough back for a long run of records within the window', async () => {
    const rec = `${T3} stdout P ${'x'.repeat(16 * 1024)}\n`;
    fs.writeFileSync(log, `${T1} stdout F old\n` + rec.repeat(20));
    expect(await findResumePoint(log, pos)).toMatchObject({ units: 20 * 16 * 1024 });
  });
});
