import zlib from 'zlib';
import {
  decodeFrame,
  decodeHeaderBlock,
  encodeFrame,
  encodeHeaderBlock,
  FrameParser,
  SpdyProtocolError,
  type Frame,
} from '../../src/streaming/spdy-frames';
import { SPDY3_DICTIONARY } from '../../src/streaming/spdy-dictionary';
import { HeaderCompressor, HeaderDecompressor } from '../../src/streaming/spdy-zlib';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/**
 * What kubectl 1.32 (Go, moby/spdystream) sent to our server for `kubectl exec -i p -- cat` with
 * "hello\n" on stdin, captured on the wire: four SYN_STREAMs whose header blocks share one zlib
 * stream, then stdin DATA and its FIN.
 */
const KUBECTL_EXEC = hex(`
  80030001 00000029 00000001 00000000 0000
    78f9e3c6a7c26260606004a7b392a2d4c45c6851c29a0a0a6800000000ffff
  80030001 00000017 00000003 00000000 0000 c22e555c92929907000000ffff
  80030001 00000019 00000005 00000000 0000 c22ac5565c92925f5a02000000ffff
  80030001 00000015 00000007 00000000 0000 c229975a5404000000ffff
  00000003 00000006 68656c6c6f0a
  00000003 01000000`);

/**
 * kubectl 1.32 `port-forward pod/p 18099:8080` with two concurrent curl requests: per connection an
 * error stream (closed at once by the client) and a data stream, paired by `requestid`.
 */
const KUBECTL_PORT_FORWARD = hex(`
  800300010000003e0000000100000000000078f9e3c6a7c202253a060606ce2248fc6482d22da30138e59514a526e642
  0b17d65450d0430aea22709eb030b03000000000ffff800300010000001800000003000000000000826a265229aa1d86
  00000000ffff000000010100000080030001000000180000000500000000000022d26650b196886e1a000000ffff0000
  000301000000800300010000001700000007000000000000c26a312e9568f602000000ffff0000000500000059474554
  202f696e6465782e68746d6c20485454502f312e310d0a486f73743a203132372e302e302e313a31383039390d0a5573
  65722d4167656e743a206375726c2f372e38382e310d0a4163636570743a202a2f2a0d0a0d0a00000007000000594745
  54202f696e6465782e68746d6c20485454502f312e310d0a486f73743a203132372e302e302e313a31383039390d0a55
  7365722d4167656e743a206375726c2f372e38382e310d0a4163636570743a202a2f2a0d0a0d0a000000070100000000
  00000501000000`);

describe('SPDY/3 header dictionary', () => {
  it('is the 1423-byte dictionary whose zlib id is 0xe3c6a7c2', () => {
    expect(SPDY3_DICTIONARY.length).toBe(1423);
    const z = zlib.deflateSync(Buffer.from('x'), { dictionary: SPDY3_DICTIONARY });
    // zlib header: CMF, FLG (FDICT set), then DICTID = adler32 of the dictionary.
    expect(z[1] & 0x20).toBe(0x20);
    expect(z.subarray(2, 6).toString('hex')).toBe('e3c6a7c2');
  });
});

describe('SPDY/3.1 frames', () => {
  it('decodes the frames a Go client sends, headers included', async () => {
    const frames = new FrameParser().push(KUBECTL_EXEC);
    expect(frames.map((f) => f.type)).toEqual([
      'syn_stream',
      'syn_stream',
      'syn_stream',
      'syn_stream',
      'data',
      'data',
    ]);
    const d = new HeaderDecompressor();
    const types: string[] = [];
    for (const f of frames)
      if (f.type === 'syn_stream') types.push((await d.decompress(f.headerBlock)).streamtype[0]);
    d.close();
    expect(types).toEqual(['error', 'stdin', 'stdout', 'stderr']);
    expect(
      frames.filter((f) => f.type === 'syn_stream').map((f) => (f as { streamId: number }).streamId),
    ).toEqual([1, 3, 5, 7]);
    expect(frames[4]).toEqual({ type: 'data', streamId: 3, flags: 0, data: Buffer.from('hello\n') });
    expect(frames[5]).toEqual({ type: 'data', streamId: 3, flags: 1, data: Buffer.alloc(0) });
  });

  it('decodes a Go port-forward session: paired streams with port and requestid', async () => {
    const frames = new FrameParser().push(KUBECTL_PORT_FORWARD);
    const d = new HeaderDecompressor();
    const syns: Array<Record<string, string>> = [];
    for (const f of frames) {
      if (f.type !== 'syn_stream') continue;
      const h = await d.decompress(f.headerBlock);
      syns.push({ id: String(f.streamId), type: h.streamtype[0], port: h.port[0], req: h.requestid[0] });
    }
    d.close();
    expect(syns).toEqual([
      { id: '1', type: 'error', port: '8080', req: '0' },
      { id: '3', type: 'error', port: '8080', req: '1' },
      { id: '5', type: 'data', port: '8080', req: '0' },
      { id: '7', type: 'data', port: '8080', req: '1' },
    ]);
    const data = frames.filter((f) => f.type === 'data' && f.streamId === 5);
    expect((data[0] as { data: Buffer }).data.toString()).toMatch(/^GET \/index.html HTTP\/1.1\r\n/);
    expect(Buffer.concat(frames.map(encodeFrame)).equals(KUBECTL_PORT_FORWARD)).toBe(true);
  });

  it('re-encodes those frames byte for byte', () => {
    const frames = new FrameParser().push(KUBECTL_EXEC);
    expect(Buffer.concat(frames.map(encodeFrame)).equals(KUBECTL_EXEC)).toBe(true);
  });

  it('reassembles frames cut at every byte boundary', () => {
    const parser = new FrameParser();
    const out: Frame[] = [];
    for (const b of KUBECTL_EXEC) out.push(...parser.push(Buffer.from([b])));
    expect(out.length).toBe(6);
    expect(parser.pending()).toBe(0);
  });

  it('lays out control frames as the spec draws them', () => {
    // PING id 1: version 3, type 6, length 4.
    expect(encodeFrame({ type: 'ping', id: 1 }).toString('hex')).toBe('800300060000000400000001');
    expect(encodeFrame({ type: 'rst_stream', streamId: 5, status: 5 }).toString('hex')).toBe(
      '80030003000000080000000500000005',
    );
    expect(encodeFrame({ type: 'goaway', lastGoodStreamId: 7, status: 0 }).toString('hex')).toBe(
      '80030007000000080000000700000000',
    );
    expect(encodeFrame({ type: 'window_update', streamId: 0, delta: 65536 }).toString('hex')).toBe(
      '80030009000000080000000000010000',
    );
    expect(
      encodeFrame({ type: 'settings', flags: 0, entries: [{ flags: 0, id: 7, value: 65536 }] }).toString(
        'hex',
      ),
    ).toBe('800300040000000c000000010000000700010000');
    expect(
      encodeFrame({ type: 'data', streamId: 3, flags: 1, data: Buffer.from('hi') }).toString('hex'),
    ).toBe('00000003010000026869');
  });

  it('round-trips every frame type', () => {
    const frames: Frame[] = [
      {
        type: 'syn_stream',
        streamId: 9,
        associatedId: 0,
        priority: 3,
        slot: 0,
        flags: 1,
        headerBlock: hex('0102'),
      },
      { type: 'syn_reply', streamId: 9, flags: 0, headerBlock: hex('03') },
      { type: 'headers', streamId: 9, flags: 1, headerBlock: hex('04') },
      { type: 'rst_stream', streamId: 9, status: 2 },
      { type: 'settings', flags: 1, entries: [{ flags: 1, id: 4, value: 100 }] },
      { type: 'ping', id: 2 },
      { type: 'goaway', lastGoodStreamId: 9, status: 1 },
      { type: 'window_update', streamId: 9, delta: 1000 },
      { type: 'data', streamId: 9, flags: 0, data: Buffer.alloc(70_000, 7) },
    ];
    expect(new FrameParser().push(Buffer.concat(frames.map(encodeFrame)))).toEqual(frames);
  });

  it('passes unknown control frames through and rejects other versions', () => {
    expect(decodeFrame(hex('8003000a 00000002 abcd'))).toEqual({
      type: 'unknown',
      controlType: 10,
      flags: 0,
      payload: hex('abcd'),
    });
    expect(() => decodeFrame(hex('80020006 00000004 00000001'))).toThrow(SpdyProtocolError);
    expect(() => decodeFrame(hex('80030003 00000004 00000001'))).toThrow(/too short/);
  });
});

describe('SPDY header blocks', () => {
  it('encodes names in lower case with 32-bit lengths and NUL-joined values', () => {
    expect(encodeHeaderBlock({ StreamType: ['error'] }).toString('hex')).toBe(
      '00000001' +
        '0000000a' +
        Buffer.from('streamtype').toString('hex') +
        '00000005' +
        Buffer.from('error').toString('hex'),
    );
    expect(decodeHeaderBlock(encodeHeaderBlock({ a: ['1', '2'], port: ['8080'] }))).toEqual({
      a: ['1', '2'],
      port: ['8080'],
    });
    expect(() => decodeHeaderBlock(hex('00000002 00000001 61'))).toThrow(/truncated/);
  });

  it('compresses a run of blocks through one context that a fresh peer can follow', async () => {
    const c = new HeaderCompressor();
    const d = new HeaderDecompressor();
    const blocks = [];
    for (let i = 0; i < 50; i++)
      blocks.push(await c.compress({ streamtype: ['data'], port: ['8080'], requestid: [String(i)] }));
    // Later blocks reuse the context: they are much smaller than the first.
    expect(blocks[10].length).toBeLessThan(blocks[0].length);
    for (let i = 0; i < 50; i++) expect((await d.decompress(blocks[i])).requestid).toEqual([String(i)]);
    c.close();
    d.close();
  });

  it('compresses concurrent calls in call order', async () => {
    const c = new HeaderCompressor();
    const d = new HeaderDecompressor();
    const blocks = await Promise.all([0, 1, 2, 3].map((i) => c.compress({ n: [String(i)] })));
    for (let i = 0; i < 4; i++) expect((await d.decompress(blocks[i])).n).toEqual([String(i)]);
    c.close();
    d.close();
  });
});
