import { dockerEnv, envValue } from '../../src/translate/env';

describe('env values as bytes', () => {
  it('carries any UTF-8 value without NUL byte for byte', () => {
    const raw = Buffer.from([
      0x01, 0x7f, 0x0a, 0x09, 0xc3, 0xa9, 0xe2, 0x98, 0x83, 0xf0, 0x9f, 0x90, 0xb3, 0x3d, 0x20,
    ]);
    const [entry] = dockerEnv([{ key: 'BIN', value: raw }]);
    expect(Buffer.from(entry, 'utf8')).toEqual(Buffer.concat([Buffer.from('BIN='), raw]));
  });

  it('keeps a leading byte-order mark (a decoder would drop it by default)', () => {
    const raw = Buffer.from([0xef, 0xbb, 0xbf, 0x61]);
    const [entry] = dockerEnv([{ key: 'BOM', value: raw }]);
    expect(Buffer.from(entry, 'utf8')).toEqual(Buffer.concat([Buffer.from('BOM='), raw]));
  });

  it('keeps empty values', () => {
    expect(dockerEnv([{ key: 'E', value: Buffer.alloc(0) }])).toEqual(['E=']);
  });

  it('refuses what Docker would alter, naming the entry', () => {
    expect(() => envValue({ key: 'BAD', value: Buffer.from([0x66, 0xff, 0xfe]) }, 3)).toThrow(
      /config.envs\[3\] "BAD": value is not valid UTF-8/,
    );
    expect(() => envValue({ key: 'NUL', value: Buffer.from('a\0b') }, 0)).toThrow(/NUL/);
  });
});
