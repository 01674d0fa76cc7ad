import { DockerLogParser, DOCKER_PARTIAL_BYTES, type StreamId } from '../../src/logs/docker-stream';
import {
  CriEncoder,
  parseRecord,
  scanTail,
  sinceParam,
  compareTs,
  type ResumePoint,
} from '../../src/logs/cri-format';

const T1 = '2026-11-25T11:04:31.624791906Z';
const T2 = '2026-11-25T11:04:31.624871676Z';
const T3 = '2026-11-25T11:04:32.000000001Z';
const T0 = '2026-11-25T11:04:30.000000000Z';

function frame(stream: StreamId, payload: Buffer | string): Buffer {
  const p = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  const h = Buffer.alloc(8);
  h[0] = stream;
  h.writeUInt32BE(p.length, 4);
  return Buffer.concat([h, p]);
}

/** Feeds the stream in pieces of `step` bytes and returns the CRI file contents. */
function encode(
  data: Buffer,
  tty: boolean,
  step = data.length,
  resume?: ResumePoint,
): { text: Buffer; enc: CriEncoder } {
  const enc = new CriEncoder();
  enc.resumeFrom(resume);
  const parser = new DockerLogParser(tty, (s, b, st, e) => enc.message(s, b, st, e));
  const out: Buffer[] = [];
  for (let i = 0; i < data.length; i += step) {
    parser.push(data.subarray(i, i + step));
    const b = enc.take();
    if (b) out.push(Buffer.from(b));
  }
  parser.finish();
  const b = enc.take();
  if (b) out.push(b);
  return { text: Buffer.concat(out), enc };
}

describe('CRI log encoding of a multiplexed Docker stream', () => {
  const stream = Buffer.concat([
    frame(2, `${T1} b\n`),
    frame(1, `${T2} a\n`),
    frame(1, `${T2} \n`),
    frame(1, `${T3} partial`),
  ]);
  const expected = `${T1} stderr F b\n${T2} stdout F a\n${T2} stdout F \n${T3} stdout P partial\n`;

  it('writes one record per line with its stream, an empty line, and a last line without newline as P', () => {
    expect(encode(stream, false).text.toString()).toBe(expected);
  });

  it('gives the same bytes whatever the chunk boundaries', () => {
    for (const step of [1, 2, 3, 7, 8, 9, 31, 64]) {
      expect(encode(stream, false, step).text.toString()).toBe(expected);
    }
  });

  it('splits Docker partial messages into P records ended by F, joining back exactly', () => {
    const line = Buffer.alloc(40_000, 'x');
    const parts = [
      frame(1, Buffer.concat([Buffer.from(`${T1} `), line.subarray(0, DOCKER_PARTIAL_BYTES)])),
      frame(
        1,
        Buffer.concat([Buffer.from(`${T1} `), line.subarray(DOCKER_PARTIAL_BYTES, 2 * DOCKER_PARTIAL_BYTES)]),
      ),
      frame(
        1,
        Buffer.concat([Buffer.from(`${T1} `), line.subarray(2 * DOCKER_PARTIAL_BYTES), Buffer.from('\n')]),
      ),
    ];
    const text = encode(Buffer.concat(parts), false, 1000).text.toString();
    const recs = text.trimEnd().split('\n');
    expect(recs.map((r) => r.slice(31, 39))).toEqual(['stdout P', 'stdout P', 'stdout F']);
    expect(recs.map((r) => r.slice(40)).join('')).toBe(line.toString());
  });

  it('splits a message longer than 16 KiB itself', () => {
    const line = 'y'.repeat(40_000);
    const text = encode(frame(2, `${T1} ${line}\n`), false).text.toString();
    const recs = text.trimEnd().split('\n');
    expect(recs.map((r) => r.slice(31, 39))).toEqual(['stderr P', 'stderr P', 'stderr F']);
    expect(recs.map((r) => r.slice(40)).join('')).toBe(line);
  });

  it('keeps binary bytes and UTF-8 exactly', () => {
    const bin = Buffer.from([0, 1, 2, 0xff, 0xfe, 0x0d, 0x1b, 0x80]);
    const utf = Buffer.from('héllo wörld ✓ 日本語 🚀');
    const data = Buffer.concat([
      frame(1, Buffer.concat([Buffer.from(`${T1} `), bin, Buffer.from('\n')])),
      frame(1, Buffer.concat([Buffer.from(`${T2} `), utf, Buffer.from('\n')])),
    ]);
    const text = encode(data, false, 5).text;
    expect(text).toEqual(
      Buffer.concat([
        Buffer.from(`${T1} stdout F `),
        bin,
        Buffer.from(`\n${T2} stdout F `),
        utf,
        Buffer.from('\n'),
      ]),
    );
  });

  it('leaves a line the output ends in open (P), adding no newline the container did not write', () => {
    // As containerd does: the kubelet reads P as its bytes and F as its bytes and a newline, so an
    // F here would make `echo -n DONE; exit 1` a termination message (FallbackToLogsOnError) of
    // "DONE\n" (the NodeConformance spec on it wants "DONE").
    const piece = 'z'.repeat(DOCKER_PARTIAL_BYTES);
    expect(encode(frame(1, `${T1} ${piece}`), false).text.toString()).toBe(`${T1} stdout P ${piece}\n`);
    expect(encode(frame(2, `${T1} DONE`), false).text.toString()).toBe(`${T1} stderr P DONE\n`);
  });
});

describe('CRI log encoding of a TTY stream', () => {
  it('records everything as stdout, cutting pieces where Docker does', () => {
    const long = 'x'.repeat(20_000);
    const raw = Buffer.from(
      `${T1} ${long.slice(0, DOCKER_PARTIAL_BYTES)}${T1} ${long.slice(DOCKER_PARTIAL_BYTES)}\r\n${T2} short\r\n${T3} end`,
    );
    for (const step of [raw.length, 1, 13, 4096]) {
      const text = encode(raw, true, step).text.toString();
      const recs = text.trimEnd().split('\n');
      expect(recs.map((r) => r.slice(31, 39))).toEqual(['stdout P', 'stdout F', 'stdout F', 'stdout P']);
      expect(recs[0].slice(40) + recs[1].slice(40)).toBe(`${long}\r`);
      expect(recs[2]).toBe(`${T2} stdout F short\r`);
      expect(recs[3]).toBe(`${T3} stdout P end`);
    }
  });
});

describe('resuming', () => {
  const msgs = [
    frame(1, `${T1} one\n`),
    frame(2, `${T2} two\n`),
    frame(1, `${T2} three\n`),
    frame(1, `${T3} four\n`),
  ];
  const all = encode(Buffer.concat(msgs), false).text.toString();

  it('skips exactly what the file already holds, at every cut point', () => {
    const lines = all.trimEnd().split('\n');
    for (let cut = 0; cut <= lines.length; cut++) {
      const written = lines
        .slice(0, cut)
        .map((l) => l + '\n')
        .join('');
      const at = written ? scanTail(Buffer.from(written), true) : undefined;
      if (at === 'more') throw new Error('unexpected more');
      const since = at ? at.ts : undefined;
      // Docker answers `since` inclusively.
      const replay = msgs.filter((m) => !since || compareTs(m.subarray(8, 38).toString(), since) >= 0);
      const rest = encode(Buffer.concat(replay), false, undefined, at).text.toString();
      expect(written + rest).toBe(all);
    }
  });

  it('resumes exactly when Docker stored stderr and stdout out of timestamp order', () => {
    // Docker stamps each stream's messages before storing them; stored order can disagree by µs.
    const early = '2026-11-25T11:04:31.624850000Z';
    const late = '2026-11-25T11:04:31.624900000Z';
    const stored = [
      frame(1, `${T0} zero\n`),
      frame(1, `${T1} one\n`),
      frame(1, `${late} out-late\n`),
      frame(2, `${early} err-early\n`),
      frame(1, `${late} out-again\n`),
      frame(2, `${early} err-again\n`),
    ];
    const all = encode(Buffer.concat(stored), false).text.toString();
    const lines = all.trimEnd().split('\n');
    for (let cut = 1; cut <= lines.length; cut++) {
      const written = lines
        .slice(0, cut)
        .map((l) => l + '\n')
        .join('');
      const at = scanTail(Buffer.from(written), true) as ResumePoint;
      const replay = stored.filter((m) => compareTs(m.subarray(8, 38).toString(), at.ts) >= 0);
      expect(written + encode(Buffer.concat(replay), false, undefined, at).text.toString()).toBe(all);
      // The position kept in memory while writing agrees with the one read back from the file.
      const mem = encode(Buffer.concat(stored.slice(0, cut)), false).enc.position();
      expect(mem).toEqual(at);
    }
  });

  it('resumes in the middle of a long line cut into pieces', () => {
    const line = 'q'.repeat(40_000);
    const m = frame(1, `${T1} ${line}\n`);
    const full = encode(m, false).text.toString();
    const recs = full.split('\n');
    const written = recs[0] + '\n'; // killed after the first piece
    const at = scanTail(Buffer.from(written), true);
    expect(at).toMatchObject({ ts: '2026-11-25T11:04:31.374791906Z', units: 16 * 1024 });
    const rest = encode(m, false, undefined, at as ResumePoint).text.toString();
    expect(written + rest).toBe(full);
  });

  it('keeps the position in memory as the file would give it: the reorder window before the latest', () => {
    const { enc, text } = encode(Buffer.concat(msgs.slice(0, 3)), false);
    // since = T2 - 250 ms, which T1 (80 µs before T2) is after: every record counts.
    expect(enc.position()).toEqual({
      ts: '2026-11-25T11:04:31.374871676Z',
      units: 4 + 4 + 6,
      window: [
        [T1, 4],
        [T2, 4],
        [T2, 6],
      ],
    });
    expect(scanTail(text, true)).toEqual(enc.position());
    const later = encode(Buffer.concat(msgs), false).enc.position();
    expect(later).toMatchObject({ ts: '2026-11-25T11:04:31.750000001Z', units: 5 });
  });

  it('asks for more of the file when a record starts before the bytes read', () => {
    expect(scanTail(Buffer.from(`${T1} stdout F a\n`), false)).toBe('more');
    // T2 is within the reorder window of T1: the scan must go on past T1 (and asks for more).
    expect(scanTail(Buffer.from(`x\n${T1} stdout F a\n${T2} stdout F bb\n`), false)).toBe('more');
    expect(scanTail(Buffer.from(`x\n${T0} stdout F a\n${T2} stdout F bb\n`), false)).toEqual({
      ts: '2026-11-25T11:04:31.374871676Z',
      units: 3,
      window: [[T2, 3]],
    });
    expect(scanTail(Buffer.from('not a record\n'), true)).toBeUndefined();
  });

  it('parses records and converts timestamps to Docker since values', () => {
    const b = Buffer.from(`${T1} stderr P hi there`);
    const r = parseRecord(b, 0, b.length);
    expect(r).toMatchObject({ ts: T1, stream: 'stderr', partial: true });
    expect(b.toString('utf8', r!.start, r!.end)).toBe('hi there');
    expect(sinceParam(T1)).toBe('1795604671.624791906');
    expect(sinceParam('2026-11-25T11:04:31Z')).toBe('1795604671.000000000');
    expect(compareTs(T1, T2)).toBeLessThan(0);
    expect(compareTs(T3, T2)).toBeGreaterThan(0);
  });
});
