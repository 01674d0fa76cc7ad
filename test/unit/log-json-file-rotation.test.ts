import fs from 'fs';
import os from 'os';
import path from 'path';
import { openFile, ReadOnlyFile } from '../../src/logs/json-file-rotation';

/**
 * The json-file reader keeps a plain descriptor per followed file (not a FileHandle): what it reads,
 * and that closing it twice never closes a descriptor another open has reused since.
 */
describe('ReadOnlyFile', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dcri-rofile-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const write = (name: string, text: string): string => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, text);
    return p;
  };

  it.each([
    ['from the start', 0, 5, 'hello'],
    ['from the middle', 6, 5, 'world'],
    ['past the end', 20, 5, ''],
    ['across the end', 8, 10, 'rld'],
  ])('reads %s', async (_what, position, length, want) => {
    const f = await ReadOnlyFile.open(write('a', 'hello world'));
    try {
      const buf = Buffer.alloc(length);
      const { bytesRead } = await f.read(buf, 0, length, position);
      expect(buf.subarray(0, bytesRead).toString()).toBe(want);
    } finally {
      await f.close();
    }
  });

  it('stats the open file, also once its name is gone', async () => {
    const p = write('b', 'x'.repeat(42));
    const f = await ReadOnlyFile.open(p);
    fs.unlinkSync(p);
    const st = await f.stat();
    expect(st.size).toBe(42);
    expect(st.nlink).toBe(0);
    await f.close();
  });

  it('closes once: a descriptor reused after the first close stays open', async () => {
    const f = await ReadOnlyFile.open(write('c', 'first'));
    await f.close();
    // The lowest free number is handed out again: very likely the one just closed.
    const other = fs.openSync(write('d', 'second'), 'r');
    try {
      await f.close();
      const buf = Buffer.alloc(6);
      expect(fs.readSync(other, buf, 0, 6, 0)).toBe(6);
      expect(buf.toString()).toBe('second');
    } finally {
      fs.closeSync(other);
    }
  });

  it('refuses to read once closed', async () => {
    const f = await ReadOnlyFile.open(write('e', 'text'));
    await f.close();
    await expect(f.read(Buffer.alloc(4), 0, 4, 0)).rejects.toThrow();
    await expect(f.stat()).rejects.toThrow();
  });

  it('fails to open what is not there', async () => {
    await expect(ReadOnlyFile.open(path.join(dir, 'missing'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('openFile names the inode and starts at 0', async () => {
    const p = write('f', 'line\n');
    const f = await openFile(p);
    try {
      expect(f.ino).toBe(fs.statSync(p).ino);
      expect(f.off).toBe(0);
    } finally {
      await f.fh.close();
    }
  });
});
