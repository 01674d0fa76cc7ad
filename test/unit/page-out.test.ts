import { pageableRanges, pageOutExecutable, type MappedFile } from '../../src/process/page-out';

/** One smaps block: the header and the two fields the selection reads. */
function block(header: string, rssKiB: number, anonKiB: number): string {
  return [
    header,
    `Size:               9999 kB`,
    `Rss:            ${rssKiB} kB`,
    `Pss:  1 kB`,
    `Anonymous:      ${anonKiB} kB`,
    'VmFlags: rd ex mr mw me',
  ].join('\n');
}

const EXE: MappedFile = { inode: 1234, path: '/usr/bin/docker-cri' };

/**
 * Which mappings a page-out may advise: only the executable's, only those it cannot have written
 * (not writable, no copied-on-write page), and only where something is resident.
 */
describe('pageableRanges', () => {
  const cases: Array<{ name: string; header: string; rss: number; anon: number; want: boolean }> = [
    {
      name: 'the executable, read-only',
      header: '00400000-0082f000 r--p 00000000 fd:01 1234 /usr/bin/docker-cri',
      rss: 4284,
      anon: 0,
      want: true,
    },
    {
      name: 'the executable, code',
      header: '0082f000-034ce000 r-xp 0042e000 fd:01 1234 /usr/bin/docker-cri',
      rss: 21460,
      anon: 0,
      want: true,
    },
    {
      name: 'relocated read-only data (copied on write)',
      header: '0732a000-0735e000 r--p 06f29000 fd:01 1234 /usr/bin/docker-cri',
      rss: 120,
      anon: 20,
      want: false,
    },
    {
      name: 'the executable, writable data',
      header: '0735e000-0738a000 rw-p 06f5d000 fd:01 1234 /usr/bin/docker-cri',
      rss: 176,
      anon: 0,
      want: false,
    },
    {
      name: 'nothing resident',
      header: '034ce000-0732a000 r--p 030cd000 fd:01 1234 /usr/bin/docker-cri',
      rss: 0,
      anon: 0,
      want: false,
    },
    {
      name: 'replaced by an upgrade, same inode',
      header: '00400000-0082f000 r--p 00000000 fd:01 1234 /usr/bin/docker-cri (deleted)',
      rss: 100,
      anon: 0,
      want: true,
    },
    {
      name: 'the path, another inode (overlay filesystems name another)',
      header: '00400000-0082f000 r-xp 00000000 00:2a 99 /usr/bin/docker-cri',
      rss: 100,
      anon: 0,
      want: true,
    },
    {
      name: 'another file: libc',
      header: '7f00000000-7f00100000 r-xp 00000000 fd:01 555 /usr/lib/x86_64-linux-gnu/libc.so.6',
      rss: 1400,
      anon: 0,
      want: false,
    },
    {
      name: 'another file whose path starts alike',
      header: '7f00000000-7f00100000 r--p 00000000 fd:01 556 /usr/bin/docker-cri.old',
      rss: 10,
      anon: 0,
      want: false,
    },
    {
      name: 'anonymous memory (inode 0)',
      header: '7f10000000-7f10040000 rw-p 00000000 00:00 0 ',
      rss: 256,
      anon: 256,
      want: false,
    },
    {
      name: 'the heap',
      header: '01000000-02000000 rw-p 00000000 00:00 0                                  [heap]',
      rss: 4000,
      anon: 4000,
      want: false,
    },
  ];
  it.each(cases)('$name', ({ header, rss, anon, want }) => {
    const got = pageableRanges(block(header, rss, anon), EXE);
    if (!want) {
      expect(got).toEqual([]);
      return;
    }
    const [start, end] = header
      .split(' ')[0]
      .split('-')
      .map((h) => BigInt(`0x${h}`));
    expect(got).toEqual([{ start, length: end - start, residentKiB: rss }]);
  });

  it('reads every block of a whole smaps text, each with its own fields', () => {
    const text = cases.map((c) => block(c.header, c.rss, c.anon)).join('\n') + '\n';
    expect(pageableRanges(text, EXE).map((r) => r.residentKiB)).toEqual(
      cases.filter((c) => c.want).map((c) => c.rss),
    );
  });
});

describe('pageOutExecutable', () => {
  it('advises MADV_PAGEOUT on each range, and counts what the kernel refused', () => {
    const calls: Array<[bigint, bigint, number]> = [];
    const text = [
      block('00400000-00401000 r--p 00000000 fd:01 1234 /usr/bin/docker-cri', 4, 0),
      block('00401000-00403000 r-xp 00001000 fd:01 1234 /usr/bin/docker-cri', 8, 0),
    ].join('\n');
    const step = pageOutExecutable({
      file: EXE,
      readSmaps: () => text,
      madvise: (start, length, advice) => {
        calls.push([start, length, advice]);
        return calls.length === 2 ? -1 : 0;
      },
    });
    expect(step).toBeDefined();
    expect(step?.()).toEqual({ ranges: 2, residentKiB: 4, refused: 1 });
    expect(calls).toEqual([
      [0x400000n, 0x1000n, 21],
      [0x401000n, 0x2000n, 21],
    ]);
  });

  it('runs for real on this Node.js: finds the running binary and the kernel takes the advice', () => {
    // The binary may be shared with other node processes here (jest's workers), whose pages the
    // kernel keeps, so only that the ranges are found and the advice accepted is checked; what it
    // gives back is measured on the executable by bench/sea-memory.bench.ts.
    const step = pageOutExecutable();
    expect(step).toBeDefined();
    const out = step?.();
    expect(out?.ranges).toBeGreaterThan(0);
    expect(out?.residentKiB).toBeGreaterThan(0);
    expect(out?.refused).toBe(0);
  });
});
