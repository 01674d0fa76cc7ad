import { encodeStatusMessage, frameMessage, parseTimeout, splitMessages } from '../../src/grpc/wire';

const msg = (flag: number, bytes: number[]): Buffer => {
  const b = Buffer.alloc(5 + bytes.length);
  b[0] = flag;
  b.writeUInt32BE(bytes.length, 1);
  Buffer.from(bytes).copy(b, 5);
  return b;
};

describe('splitMessages', () => {
  it.each<[string, Buffer, Array<[boolean, number[]]> | RegExp]>([
    ['no message', Buffer.alloc(0), []],
    ['one message', msg(0, [1, 2, 3]), [[false, [1, 2, 3]]]],
    ['an empty message', msg(0, []), [[false, []]]],
    ['a compressed message', msg(1, [9]), [[true, [9]]]],
    [
      'two messages',
      Buffer.concat([msg(0, [1]), msg(0, [2, 2])]),
      [
        [false, [1]],
        [false, [2, 2]],
      ],
    ],
    ['a cut prefix', Buffer.from([0, 0, 0]), /inside a message prefix \(3 of 5 bytes\)/],
    ['a cut message', msg(0, [1, 2, 3]).subarray(0, 7), /inside a message \(2 of 3 bytes\)/],
    ['a bad flag', msg(2, [1]), /invalid message flag 2/],
  ])('%s', (_name, body, want) => {
    const got = splitMessages(body);
    if (want instanceof RegExp) {
      expect(got.ok).toBe(false);
      if (!got.ok) expect(got.reason).toMatch(want);
      return;
    }
    expect(got.ok).toBe(true);
    if (got.ok) expect(got.messages.map((m) => [m.compressed, [...m.bytes]])).toEqual(want);
  });

  it('reads back what frameMessage writes', () => {
    const payload = Buffer.from('a CRI answer');
    const got = splitMessages(Buffer.concat([frameMessage(payload), frameMessage(new Uint8Array(0))]));
    expect(got).toEqual({
      ok: true,
      messages: [
        { compressed: false, bytes: payload },
        { compressed: false, bytes: Buffer.alloc(0) },
      ],
    });
  });
});

describe('parseTimeout', () => {
  it.each<[string | string[] | undefined, number | undefined]>([
    [undefined, undefined],
    ['', undefined],
    ['1H', 3_600_000],
    ['2M', 120_000],
    ['3S', 3000],
    ['119999m', 119_999],
    ['1500u', 1.5],
    ['2000000n', 2],
    ['99999999S', 99_999_999_000],
    ['123456789S', undefined], // more than 8 digits
    ['10s', undefined], // units are case-sensitive: s is not one
    ['-1S', undefined],
    ['1.5S', undefined],
    [['1S', '2S'], undefined],
  ])('%p is %p ms', (header, want) => {
    expect(parseTimeout(header)).toBe(want);
  });
});

describe('encodeStatusMessage', () => {
  it.each([
    ['container abc not found', 'container abc not found'],
    ['', ''],
    ['100% done', '100%25 done'],
    ['line\nbreak', 'line%0Abreak'],
    ['naïve', 'na%C3%AFve'],
    ['tab\there ~', 'tab%09here ~'],
  ])('%p becomes %p', (text, want) => {
    expect(encodeStatusMessage(text)).toBe(want);
  });

  it('is undone by percent-decoding the UTF-8 bytes, as clients do', () => {
    const text = 'pull of "ünïcode:%latest" failed:\r\n\t100%';
    expect(decodeURIComponent(encodeStatusMessage(text))).toBe(text);
  });
});
