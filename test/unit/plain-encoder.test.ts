import * as protobuf from 'protobufjs';
import { encodeMessage, encodePlain } from '../../src/grpc/plain-encoder';
import { criRoot } from '../../src/grpc/proto';

/** What the generic path writes: protobufjs's fromObject, then its encoder. */
function generic(type: protobuf.Type, obj: object): Buffer {
  return type.encode(type.fromObject(obj as Record<string, unknown>)).finish() as Buffer;
}

/** A small seeded generator, so that a failure names a seed that reproduces it. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

const STRINGS = [
  '',
  'a',
  'busybox:latest',
  'k8s_app_pod-1_default_0b8a3c1e-7d2f-4e59-9a1b-2c3d4e5f6a7b_0',
  'ünïcödé ✓',
  '😀 pod',
  'x'.repeat(39),
  'y'.repeat(40),
  'long ünïcödé value past the short-string threshold of protobufjs 😀😀',
  '\ud800 lone surrogate',
  'lone surrogate in a string longer than forty characters \udc00 here',
  '0',
];

const INT64 = [
  '0',
  '1',
  '127',
  '128',
  '1733500000123456789',
  '18446744073709551615',
  '9223372036854775807',
  '-1',
  '-9223372036854775808',
  '000123',
  0,
  1,
  -1,
  300,
  2 ** 32,
  2 ** 53 - 1,
  -(2 ** 53 - 1),
  -(2 ** 32),
];

type Gen = () => number;

function pick<T>(r: Gen, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)];
}

function scalar(r: Gen, type: string): unknown {
  switch (type) {
    case 'string':
      return pick(r, STRINGS);
    case 'bool':
      return r() < 0.5;
    case 'int64':
    case 'uint64':
    case 'sint64':
    case 'fixed64':
    case 'sfixed64':
      return pick(r, INT64);
    case 'int32':
    case 'sint32':
    case 'sfixed32':
      return pick(r, [0, 1, -1, 127, 128, 2147483647, -2147483648, 65536]);
    case 'uint32':
    case 'fixed32':
      return pick(r, [0, 1, 127, 128, 16384, 4294967295]);
    case 'double':
    case 'float':
      return pick(r, [0, 1.5, -2.25, 1e10]);
    case 'bytes':
      return pick(r, [Buffer.alloc(0), Buffer.from('abc'), Buffer.alloc(300, 7)]);
    default:
      throw new Error(type);
  }
}

/** A plain object of `type`, each field present or not, nested down to `depth`. */
function sample(r: Gen, type: protobuf.Type, depth: number): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const f of type.fieldsArray) {
    f.resolve();
    const roll = r();
    if (roll < 0.15) continue;
    if (roll < 0.2) {
      o[f.name] = r() < 0.5 ? null : undefined;
      continue;
    }
    const one = (): unknown => {
      const t = f.resolvedType;
      if (t instanceof protobuf.Enum) {
        const names = Object.keys(t.values);
        return r() < 0.8 ? pick(r, names) : t.values[pick(r, names)];
      }
      if (t instanceof protobuf.Type) return depth > 0 ? sample(r, t, depth - 1) : {};
      return scalar(r, f.type);
    };
    if (f instanceof protobuf.MapField) {
      const m: Record<string, unknown> = {};
      const n = Math.floor(r() * 4);
      for (let i = 0; i < n; i++) m[pick(r, ['app', '10', '2', 'io.kubernetes.pod.name', 'ü', ''])] = one();
      o[f.name] = m;
    } else if (f.repeated) {
      o[f.name] = Array.from({ length: Math.floor(r() * 4) }, one);
    } else {
      o[f.name] = one();
    }
  }
  return o;
}

/** Every message type of the CRI proto. */
function allTypes(): protobuf.Type[] {
  const out: protobuf.Type[] = [];
  const walk = (ns: protobuf.NamespaceBase): void => {
    for (const n of ns.nestedArray) {
      if (n instanceof protobuf.Type) out.push(n);
      if (n instanceof protobuf.Namespace || n instanceof protobuf.Type) walk(n);
    }
  };
  walk(criRoot());
  return out;
}

describe('plain encoder', () => {
  const types = allTypes();

  it('covers the CRI proto', () => {
    expect(types.length).toBeGreaterThan(150);
  });

  it('writes the generic bytes for random objects of every CRI message type', () => {
    let fast = 0;
    for (const type of types) {
      for (let seed = 1; seed <= 40; seed++) {
        const obj = sample(rng(seed * 7919 + type.fullName.length), type, 3);
        const want = generic(type, obj);
        const got = encodePlain(type, obj);
        if (got) {
          fast++;
          if (!got.equals(want))
            throw new Error(
              `${type.fullName} seed ${seed}: ${got.toString('hex')} != ${want.toString('hex')}`,
            );
        }
        expect(encodeMessage(type, obj).equals(want)).toBe(true);
      }
    }
    // The fast path takes almost all of them (what it refuses is below).
    expect(fast).toBeGreaterThan(types.length * 30);
  });

  const t = (name: string): protobuf.Type => criRoot().lookupType(name);

  it.each([
    [
      'a stats answer with wrappers and timestamps',
      'runtime.v1.ContainerStats',
      {
        attributes: {
          id: 'c'.repeat(64),
          metadata: { name: 'app', attempt: 0 },
          labels: { a: 'b' },
          annotations: {},
        },
        cpu: {
          timestamp: '1733500000123456789',
          usage_core_nano_seconds: { value: '123456789012' },
          usage_nano_cores: { value: '0' },
        },
        memory: {
          timestamp: '1733500000123456789',
          working_set_bytes: { value: '1048576' },
          rss_bytes: null,
        },
        writable_layer: {
          timestamp: '1',
          fs_id: { mountpoint: '/var/lib/docker/overlay2' },
          used_bytes: { value: '4096' },
          inodes_used: { value: '3' },
        },
      },
    ],
    ['an empty object', 'runtime.v1.ContainerStats', {}],
    [
      'default values, which protobufjs writes when present',
      'runtime.v1.ContainerMetadata',
      { name: '', attempt: 0 },
    ],
    [
      'an unknown enum name in a single field (left out)',
      'runtime.v1.PodSandbox',
      { id: 'x', state: 'NO_SUCH_STATE' },
    ],
    ['an enum as a number, known or not', 'runtime.v1.PodSandbox', { state: 1, metadata: { name: 'n' } }],
    ['an out-of-range enum number', 'runtime.v1.PodSandbox', { state: 99 }],
    ['a negative enum number (ten bytes)', 'runtime.v1.PodSandbox', { state: -3 }],
    ['unknown fields, ignored', 'runtime.v1.ContainerMetadata', { name: 'n', nope: 5, attempt: 2 }],
    [
      'integer-like map keys (ordered first by JS)',
      'runtime.v1.PodSandbox',
      { labels: { b: '1', 10: 'x', 2: 'y', a: '' } },
    ],
    ['negative int64 numbers and strings in unsigned fields', 'runtime.v1.UInt64Value', { value: '-5' }],
    [
      'a negative number in an unsigned field (fromNumber makes it 0)',
      'runtime.v1.UInt64Value',
      { value: -5 },
    ],
    ['a negative int64', 'runtime.v1.Int64Value', { value: -1 }],
    [
      'an int64 beyond 2^64 (wraps as Long does)',
      'runtime.v1.UInt64Value',
      { value: '36893488147419103231' },
    ],
  ])('writes the generic bytes for %s', (_what, name, obj) => {
    const type = t(name);
    const want = generic(type, obj);
    const got = encodePlain(type, obj);
    expect(got?.toString('hex')).toBe(want.toString('hex'));
  });

  it.each([
    ['a number in a string field (fromObject calls String())', 'runtime.v1.ContainerMetadata', { name: 5 }],
    ['a string in an int32 field', 'runtime.v1.ContainerMetadata', { attempt: '2' }],
    ['a Long-like object in an int64 field', 'runtime.v1.UInt64Value', { value: { low: 1, high: 2 } }],
    ['a fraction in an int64 field', 'runtime.v1.UInt64Value', { value: 1.5 }],
    ['a non-decimal string in an int64 field', 'runtime.v1.UInt64Value', { value: '0x10' }],
    ['a number as a map value', 'runtime.v1.PodSandbox', { labels: { a: 1 } }],
    ['a truthy non-array for a list', 'runtime.v1.Capability', { add_capabilities: 'CHOWN' }],
    [
      'a class instance as a message',
      'runtime.v1.ContainerMetadata',
      new (class {
        name = 'x';
      })(),
    ],
    ['a __proto__ map key', 'runtime.v1.PodSandbox', { labels: JSON.parse('{"__proto__":"x"}') as object }],
  ])('leaves %s to the generic encoder', (_what, name, obj) => {
    const type = t(name);
    expect(encodePlain(type, obj)).toBeUndefined();
    let want: Buffer | Error;
    try {
      want = generic(type, obj);
    } catch (err) {
      want = err as Error;
    }
    if (want instanceof Error) expect(() => encodeMessage(type, obj)).toThrow(want.message);
    else expect(encodeMessage(type, obj).equals(want)).toBe(true);
  });

  /** Types the CRI proto does not use, so that every path of the encoder is compared. */
  const extra = protobuf.parse(`
    syntax = "proto3";
    package t;
    enum Color { RED = 0; GREEN = 1; BLUE = 2; }
    message Inner { string s = 1; }
    message All {
      double d = 1; float f = 2; int32 i32 = 3; uint32 u32 = 4; sint32 s32 = 5; fixed32 f32 = 6;
      sfixed32 sf32 = 7; int64 i64 = 8; uint64 u64 = 9; sint64 s64 = 10; fixed64 f64 = 11;
      sfixed64 sf64 = 12; bool b = 13; string s = 14; bytes by = 15; Color c = 16; Inner m = 17;
      repeated double rd = 21; repeated sint32 rs32 = 22; repeated sint64 rs64 = 23;
      repeated fixed64 rf64 = 24; repeated Color rc = 25; repeated bool rb = 26;
      repeated bytes rby = 27; repeated int32 ri32 = 28; repeated uint64 ru64 = 29;
      repeated int32 unpacked = 30 [packed = false];
      map<string, Inner> mm = 31; map<string, Color> mc = 32; map<string, int64> mi = 33;
      optional string opt = 34;
    }
  `).root;
  extra.resolveAll();
  const all = extra.lookupType('t.All');

  it('writes the generic bytes for every field type and list form', () => {
    for (let seed = 1; seed <= 400; seed++) {
      const obj = sample(rng(seed), all, 2);
      const want = generic(all, obj);
      const got = encodePlain(all, obj);
      if (got && !got.equals(want))
        throw new Error(`seed ${seed}: ${got.toString('hex')} != ${want.toString('hex')}`);
      expect(encodeMessage(all, obj).equals(want)).toBe(true);
    }
    const full = {
      d: -0.5,
      f: 3.25,
      i32: -7,
      u32: 4294967295,
      s32: -2147483648,
      f32: 4294967295,
      sf32: -1,
      i64: '-9223372036854775808',
      u64: '18446744073709551615',
      s64: '-1',
      f64: '1',
      sf64: -2,
      b: false,
      s: '',
      by: Buffer.from('x'),
      c: 'BLUE',
      m: { s: 'in' },
      rd: [0, 1.5],
      rs32: [-1, 1],
      rs64: ['-2', 2, '9223372036854775807'],
      rf64: [1, '2'],
      rc: ['GREEN', 2, 0],
      rb: [true, false],
      rby: [Buffer.from('ab')],
      ri32: [-1, 300],
      ru64: ['1733500000123456789', 5],
      unpacked: [1, -1],
      mm: { a: { s: 'x' }, b: {} },
      mc: { x: 'RED', y: 2 },
      mi: { k: '-4' },
      opt: '',
    };
    expect(encodePlain(all, full)?.toString('hex')).toBe(generic(all, full).toString('hex'));
  });

  it.each([
    ['an unknown enum name in a list', { rc: ['NOPE'] }],
    ['an unknown enum name as a map value', { mc: { a: 'NOPE' } }],
    ['a base64 string for bytes', { by: 'eA==' }],
    ['a boolean as a number', { b: 1 }],
  ])('leaves %s (extra types) to the generic encoder', (_what, obj) => {
    expect(encodePlain(all, obj)).toBeUndefined();
    expect(encodeMessage(all, obj).equals(generic(all, obj))).toBe(true);
  });

  it('leaves messages holding google.protobuf types to protobufjs, which converts some its own way', () => {
    const root = new protobuf.Root();
    protobuf.parse('syntax = "proto3"; package google.protobuf; message Thing { string s = 1; }', root);
    protobuf.parse('syntax = "proto3"; package u; message Holder { google.protobuf.Thing t = 1; }', root);
    root.resolveAll();
    const holder = root.lookupType('u.Holder');
    const obj = { t: { s: 'x' } };
    expect(encodePlain(holder, obj)).toBeUndefined();
    expect(encodeMessage(holder, obj).equals(generic(holder, obj))).toBe(true);
  });

  it('is not confused by a refused message inside an accepted one: the whole message goes generic', () => {
    const type = t('runtime.v1.ListContainerStatsResponse');
    const obj = { stats: [{ attributes: { id: 'a' } }, { attributes: { id: 7 } }] };
    expect(encodePlain(type, obj)).toBeUndefined();
    expect(encodeMessage(type, obj).equals(generic(type, obj))).toBe(true);
    // And the next call starts clean.
    const ok = { stats: [{ attributes: { id: 'a' } }] };
    expect(encodePlain(type, ok)?.equals(generic(type, ok))).toBe(true);
  });

  it('writes the generic bytes for answers large enough to grow, and then drop, its record of lengths', () => {
    const type = t('runtime.v1.ListContainerStatsResponse');
    // Each entry records a dozen lengths and 64-bit halves: 100 entries grow the record past its
    // first size, 20,000 past the size it is dropped at; a small answer after each starts clean.
    const stat = (i: number): object => ({
      attributes: { id: `c${i}`, metadata: { name: `n${i}`, attempt: i }, labels: { app: `a${i}` } },
      cpu: {
        timestamp: (1_700_000_000_123_456_789n + BigInt(i)).toString(),
        usage_core_nano_seconds: { value: String(2 ** 53 + i) },
      },
      memory: {
        timestamp: i,
        working_set_bytes: { value: i * 4096 },
        rss_bytes: { value: '18446744073709551615' },
      },
    });
    for (const n of [100, 20_000, 1]) {
      const obj = { stats: Array.from({ length: n }, (_, i) => stat(i)) };
      expect(encodePlain(type, obj)?.equals(generic(type, obj))).toBe(true);
      const small = { stats: [stat(7)] };
      expect(encodePlain(type, small)?.equals(generic(type, small))).toBe(true);
    }
  });

  it('makes its buffer with the allocator it is given', () => {
    const sizes: number[] = [];
    const type = t('runtime.v1.ContainerMetadata');
    const b = encodePlain(type, { name: 'abc', attempt: 1 }, (n) => {
      sizes.push(n);
      return Buffer.allocUnsafeSlow(n);
    });
    expect(sizes).toEqual([7]);
    expect(b?.length).toBe(7);
  });
});
