import fc from 'fast-check';
import { CriEncoder } from '../../src/logs/cri-format';
import {
  DockerLogParser,
  DOCKER_PARTIAL_BYTES,
  STDERR,
  STDOUT,
  type StreamId,
} from '../../src/logs/docker-stream';
import { JsonLogDecoder, normalizeTime } from '../../src/logs/json-log-decoder';

/** A string as Docker's json-file writer escapes it (Go: also <, >, &, U+2028 and U+2029). */
function goString(s: string): string {
  return JSON.stringify(s).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** Go's RFC3339Nano: trailing fraction zeros dropped, and the dot too when nothing is left. */
function goTime(ts9: string): string {
  return ts9.replace(/\.?0+Z$/, 'Z');
}

interface Msg {
  stream: StreamId;
  ts: string;
  log: string;
}

function jsonLine(m: Msg, attrs?: Record<string, string>): string {
  const a = attrs ? `,"attrs":${JSON.stringify(attrs)}` : '';
  const log = m.log === '' ? '' : `"log":${goString(m.log)},`;
  return `{${log}"stream":"${m.stream === STDERR ? 'stderr' : 'stdout'}"${a},"time":"${goTime(m.ts)}"}\n`;
}

/** What the decoder hands on, as `<stream>|<message>` strings. */
function decode(data: Buffer, step = data.length, since?: string): { out: string[]; dec: JsonLogDecoder } {
  const out: string[] = [];
  const dec = new JsonLogDecoder(
    {
      message: (s, b, st, e) => out.push(`${s}|${b.toString('utf8', st, e)}`),
      line: (s, tb, ts, te, b, cs, ce, eol) =>
        out.push(`${s}|${tb.toString('latin1', ts, te)} ${b.toString('utf8', cs, ce)}${eol ? '\n' : ''}`),
    },
    since,
  );
  for (let i = 0; i < data.length; i += step) dec.push(data.subarray(i, i + step));
  return { out, dec };
}

const T1 = '2026-11-25T11:04:31.624791906Z';
const T2 = '2026-11-25T11:04:31.624800000Z';
const T3 = '2026-11-25T11:04:32.000000000Z';

describe('json-file log decoding', () => {
  it('gives the API message: nine-digit UTC timestamp, space, the content with its newline', () => {
    const data = Buffer.from(
      jsonLine({ stream: STDOUT, ts: T1, log: 'hello\n' }) +
        jsonLine({ stream: STDERR, ts: T2, log: 'oops\n' }) +
        jsonLine({ stream: STDOUT, ts: T3, log: 'no newline' }),
    );
    expect(data.toString()).toContain('"time":"2026-11-25T11:04:31.6248Z"');
    expect(data.toString()).toContain('"time":"2026-11-25T11:04:32Z"');
    expect(decode(data).out).toEqual([`1|${T1} hello\n`, `2|${T2} oops\n`, `1|${T3} no newline`]);
  });

  it('decodes escapes exactly (quotes, backslashes, control bytes, <>&, unicode, empty lines)', () => {
    const logs = [
      'a "quoted" \\back\\slash\\n\n',
      'tab\there\r\n',
      '\u0000\u0001\u001b[0m\n',
      '<b>&amp;</b>\n',
      'héllo wörld ✓ 日本語 🚀 \u2028\u2029\ufffd\n',
      '\n',
      'ends with backslash \\\n',
      'ends with backslash-n \\n',
    ];
    const msgs = logs.map((log, i) => ({ stream: STDOUT as StreamId, ts: T1, log: `${i}${log}` }));
    const data = Buffer.from(msgs.map((m) => jsonLine(m)).join(''));
    expect(decode(data).out).toEqual(msgs.map((m) => `1|${T1} ${m.log}`));
  });

  it('reads lines with attrs and lines without a log field', () => {
    const data = Buffer.from(
      jsonLine({ stream: STDOUT, ts: T1, log: 'x\n' }, { time: 'not-this', tag: 'y' }) +
        jsonLine({ stream: STDERR, ts: T2, log: '' }),
    );
    expect(decode(data).out).toEqual([`1|${T1} x\n`, `2|${T2} `]);
  });

  it('gives the same messages whatever the chunk boundaries', () => {
    const big = 'x'.repeat(DOCKER_PARTIAL_BYTES);
    const data = Buffer.from(
      jsonLine({ stream: STDOUT, ts: T1, log: big }) +
        jsonLine({ stream: STDOUT, ts: T2, log: 'tail "q" é\n' }) +
        jsonLine({ stream: STDERR, ts: T3, log: 'e\n' }),
    );
    const whole = decode(data).out;
    expect(whole).toEqual([`1|${T1} ${big}`, `1|${T2} tail "q" é\n`, `2|${T3} e\n`]);
    for (const step of [1, 2, 7, 64, 1000, 16_385]) expect(decode(data, step).out).toEqual(whole);
  });

  it('holds an unfinished line back until its newline arrives', () => {
    const line = jsonLine({ stream: STDOUT, ts: T1, log: 'half\n' });
    const { out, dec } = decode(Buffer.from(line.slice(0, 20)));
    expect(out).toEqual([]);
    expect(dec.pending()).toBe(20);
    dec.push(Buffer.from(line.slice(20)));
    expect(out).toEqual([`1|${T1} half\n`]);
    expect(dec.pending()).toBe(0);
  });

  it('skips messages stamped before since, like the API, wherever they are', () => {
    const data = Buffer.from(
      jsonLine({ stream: STDOUT, ts: T1, log: 'a\n' }) +
        jsonLine({ stream: STDOUT, ts: T3, log: 'c\n' }) +
        jsonLine({ stream: STDERR, ts: T2, log: 'b\n' }),
    );
    expect(decode(data, data.length, T2).out).toEqual([`1|${T3} c\n`, `2|${T2} b\n`]);
    expect(decode(data, data.length, goTime(T3)).out).toEqual([`1|${T3} c\n`]);
  });

  it('counts and skips lines that are not json-file records', () => {
    const data = Buffer.from(
      `garbage\n{"log":"x\\n","stream":"stdout"}\n${jsonLine({ stream: 1, ts: T1, log: 'ok\n' })}`,
    );
    const { out, dec } = decode(data);
    expect(out).toEqual([`1|${T1} ok\n`]);
    expect(dec.malformed).toBe(2);
  });

  it('normalizes Go times to the fixed nine-digit UTC form', () => {
    expect(normalizeTime('2026-11-25T11:04:31Z')).toBe('2026-11-25T11:04:31.000000000Z');
    expect(normalizeTime('2026-11-25T11:04:31.5Z')).toBe('2026-11-25T11:04:31.500000000Z');
    expect(normalizeTime('2026-11-25T13:04:31.123+02:00')).toBe('2026-11-25T11:04:31.123000000Z');
    expect(normalizeTime('yesterday')).toBeUndefined();
  });
});

/** The multiplexed API stream Docker sends for the same messages (timestamps=1). */
function apiStream(msgs: Msg[]): Buffer {
  return Buffer.concat(
    msgs.map((m) => {
      const p = Buffer.from(`${m.ts} ${m.log}`);
      const h = Buffer.alloc(8);
      h[0] = m.stream;
      h.writeUInt32BE(p.length, 4);
      return Buffer.concat([h, p]);
    }),
  );
}

function criFromApi(msgs: Msg[]): Buffer {
  const enc = new CriEncoder();
  const parser = new DockerLogParser(false, (s, b, st, e) => enc.message(s, b, st, e));
  parser.push(apiStream(msgs));
  parser.finish();
  return Buffer.from(enc.take() ?? Buffer.alloc(0));
}

function criFromJsonFile(msgs: Msg[], step: number): Buffer {
  const enc = new CriEncoder();
  const dec = new JsonLogDecoder(enc);
  const data = Buffer.from(msgs.map((m) => jsonLine(m)).join(''));
  const out: Buffer[] = [];
  for (let i = 0; i < data.length; i += step) {
    dec.push(data.subarray(i, i + step));
    const b = enc.take();
    if (b) out.push(Buffer.from(b));
  }
  out.push(Buffer.from(enc.take() ?? Buffer.alloc(0)));
  return Buffer.concat(out);
}

describe('json-file and API paths', () => {
  it('write byte-identical CRI files for the same messages', () => {
    const piece = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc.constantFrom('<&>', '"', '\\', '\t', '\u2028', '\u0000', '日本', ''),
    );
    const msg = fc.record({
      stream: fc.constantFrom<StreamId>(STDOUT, STDERR),
      ts: fc
        .tuple(fc.integer({ min: 0, max: 59 }), fc.integer({ min: 0, max: 999_999_999 }))
        .map(([s, ns]) => `2026-11-25T11:04:${String(s).padStart(2, '0')}.${String(ns).padStart(9, '0')}Z`),
      log: fc
        .tuple(fc.array(piece, { maxLength: 5 }), fc.boolean())
        .map(([ps, nl]) => ps.join('').replace(/\n/g, ' ') + (nl ? '\n' : '')),
    });
    fc.assert(
      fc.property(fc.array(msg, { maxLength: 30 }), fc.integer({ min: 1, max: 300 }), (msgs, step) => {
        // Lone surrogates cannot come from Docker (it writes UTF-8): compare what it can store.
        const stored = msgs.map((m) => ({ ...m, log: Buffer.from(m.log).toString() }));
        expect(criFromJsonFile(stored, step).toString('latin1')).toBe(criFromApi(stored).toString('latin1'));
      }),
      { numRuns: 300 },
    );
  });
});
