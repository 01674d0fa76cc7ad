import * as protobuf from 'protobufjs';

/**
 * Encodes the plain objects our handlers answer with straight into protobuf bytes, without the
 * message object protobufjs's fromObject() builds first and the writer's list of one small object
 * per field. Stats answers are hundreds of nested messages, each with its UInt64Value wrappers:
 * measured at 110 pods × 2 (bench/sea-memory.bench.ts, sampling heap profiler), their generic
 * encoding was 42% of all the bytes the process allocated in the kubelet's steady state.
 *
 * The bytes are exactly those of `type.encode(type.fromObject(obj)).finish()`: fields in number
 * order; a field written whenever it is present and not null, default values included; maps in
 * their keys' order; proto3 numeric lists packed; strings written as protobufjs's Buffer writer
 * writes them. Any value of a shape whose conversion fromObject() does in its own way (numbers in
 * string fields, long objects, base64 strings for bytes, unknown enum names in lists ...) makes the
 * whole message go the generic way, so the result never depends on which path took it.
 */

/** A value the fast path does not take: the caller encodes the message the generic way. */
class Unsupported extends Error {}
// One instance, thrown without building a stack each time.
const UNSUPPORTED = new Unsupported('value shape not handled by the plain encoder');

enum S {
  Double,
  Float,
  Int32,
  Uint32,
  Sint32,
  Fixed32,
  Sfixed32,
  Int64,
  Uint64,
  Sint64,
  Fixed64,
  Sfixed64,
  Bool,
  String,
  Bytes,
  Enum,
  Message,
}

const SCALARS: Record<string, S> = {
  double: S.Double,
  float: S.Float,
  int32: S.Int32,
  uint32: S.Uint32,
  sint32: S.Sint32,
  fixed32: S.Fixed32,
  sfixed32: S.Sfixed32,
  int64: S.Int64,
  uint64: S.Uint64,
  sint64: S.Sint64,
  fixed64: S.Fixed64,
  sfixed64: S.Sfixed64,
  bool: S.Bool,
  string: S.String,
  bytes: S.Bytes,
};

enum Mode {
  Single,
  Repeated,
  Packed,
  Map,
}

/** How one value is written: its kind and, for enums and messages, what it refers to. */
interface ValuePlan {
  kind: S;
  /** Enum names to numbers, own names only (protobufjs's `values` inherits numbers to names). */
  enumValues?: Map<string, number>;
  message?: protobuf.Type;
  /** The message's own plan, found on first use (types refer to each other). */
  fields?: FieldPlan[];
}

interface FieldPlan extends ValuePlan {
  name: string;
  mode: Mode;
  /** The field's key: wire type of one value, or 2 for packed lists and map entries. */
  tag: number;
  tagSize: number;
  /** Map fields: the entry's key. */
  key?: ValuePlan;
}

const plans = new WeakMap<protobuf.Type, FieldPlan[]>();

function valuePlan(type: string, resolved: protobuf.ReflectionObject | null): ValuePlan {
  if (resolved instanceof protobuf.Enum) {
    return {
      kind: S.Enum,
      enumValues: new Map(Object.keys(resolved.values).map((k) => [k, resolved.values[k]])),
    };
  }
  if (resolved instanceof protobuf.Type) {
    // protobufjs converts google.protobuf.Any its own way: leave such types to it.
    if (resolved.fullName.startsWith('.google.protobuf.')) throw UNSUPPORTED;
    return { kind: S.Message, message: resolved };
  }
  const kind = SCALARS[type];
  if (kind === undefined) throw UNSUPPORTED;
  return { kind };
}

function wireType(kind: S): number {
  switch (kind) {
    case S.Double:
    case S.Fixed64:
    case S.Sfixed64:
      return 1;
    case S.Float:
    case S.Fixed32:
    case S.Sfixed32:
      return 5;
    case S.String:
    case S.Bytes:
    case S.Message:
      return 2;
    default:
      return 0;
  }
}

function planOf(type: protobuf.Type): FieldPlan[] {
  let plan = plans.get(type);
  if (plan) return plan;
  plan = [...type.fieldsArray]
    .map((f) => f.resolve())
    .sort((a, b) => a.id - b.id)
    .map((f): FieldPlan => {
      if (f instanceof protobuf.MapField) {
        const key = valuePlan(f.keyType, null);
        const tag = ((f.id << 3) | 2) >>> 0;
        return {
          name: f.name,
          mode: Mode.Map,
          tag,
          tagSize: varint32Size(tag),
          key,
          ...valuePlan(f.type, f.resolvedType),
        };
      }
      const value = valuePlan(f.type, f.resolvedType);
      const packable = value.kind !== S.String && value.kind !== S.Bytes && value.kind !== S.Message;
      const mode = !f.repeated ? Mode.Single : f.packed && packable ? Mode.Packed : Mode.Repeated;
      const tag = (((f.id << 3) | (mode === Mode.Packed ? 2 : wireType(value.kind))) >>> 0) as number;
      return { name: f.name, mode, tag, tagSize: varint32Size(tag), ...value };
    });
  plans.set(type, plan);
  return plan;
}

function varint32Size(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

function varint64Size(lo: number, hi: number): number {
  if (hi === 0) return varint32Size(lo);
  // 32 bits of lo are 4 full groups of 7 plus 4 bits: the rest comes from hi.
  return hi < 0x8 ? 5 : hi < 0x400 ? 6 : hi < 0x20000 ? 7 : hi < 0x1000000 ? 8 : hi < 0x80000000 ? 9 : 10;
}

/**
 * What the measuring pass found, in the order the writing pass needs it: nested message lengths,
 * string byte lengths and 64-bit halves. One array, reused: encoding is synchronous.
 */
let found = new Float64Array(1024);
/** How much of `found` this encoding has filled. */
let used = 0;
let cursor = 0;

/**
 * Appends to `found`. A typed array kept between encodings: a plain array emptied per answer was
 * regrown from nothing every time, and its growth was a large part of what a stats answer allocated.
 */
function note(v: number): void {
  if (used === found.length) {
    const bigger = new Float64Array(found.length * 2);
    bigger.set(found);
    found = bigger;
  }
  found[used++] = v;
}

const TWO32 = 4294967296;
const DECIMAL = /^-?\d+$/;

/** Pushes the low and high 32 bits of a 64-bit field value, as Long.fromValue(v, unsigned) has them. */
function push64(v: unknown, unsigned: boolean): void {
  let lo: number;
  let hi: number;
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw UNSUPPORTED;
    // Long.fromNumber: an unsigned field takes a negative number as 0.
    const n = unsigned && v < 0 ? 0 : v;
    if (n >= 0) {
      lo = n % TWO32;
      hi = (n - lo) / TWO32;
    } else {
      const m = -n;
      const mlo = m % TWO32;
      const mhi = (m - mlo) / TWO32;
      // Two's complement of the magnitude.
      lo = (~mlo + 1) >>> 0;
      hi = (~mhi + (mlo === 0 ? 1 : 0)) >>> 0;
    }
  } else if (typeof v === 'string') {
    // Long.fromString(v, unsigned) for a plain decimal is the value modulo 2^64.
    if (!DECIMAL.test(v)) throw UNSUPPORTED;
    if (v.length <= 15) {
      push64(Number(v), false);
      return;
    }
    const u = BigInt.asUintN(64, BigInt(v));
    lo = Number(u & 0xffffffffn);
    hi = Number(u >> 32n);
  } else {
    throw UNSUPPORTED;
  }
  note(lo);
  note(hi);
}

/**
 * The number fromObject() gives an enum value: a known name's number, or a number as it is; for
 * anything else it leaves a single field unset (undefined here).
 */
function enumNumber(p: ValuePlan, v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  return typeof v === 'string' ? (p.enumValues as Map<string, number>).get(v) : undefined;
}

/** Size of one value (no key), recording what the writing pass needs; -1: a single enum left out. */
function measureValue(p: ValuePlan, v: unknown, inList: boolean): number {
  switch (p.kind) {
    case S.String: {
      if (typeof v !== 'string') throw UNSUPPORTED;
      const n = Buffer.byteLength(v);
      note(n);
      return varint32Size(n) + n;
    }
    case S.Message: {
      if (typeof v !== 'object' || v === null) throw UNSUPPORTED;
      const at = used;
      note(0);
      const n = measureFields((p.fields ??= planOf(p.message as protobuf.Type)), v);
      found[at] = n;
      return varint32Size(n) + n;
    }
    case S.Enum: {
      const n = enumNumber(p, v);
      // fromObject leaves a single field it cannot name unset; in a list it has its own rule.
      if (n === undefined && !inList) return -1;
      if (n === undefined || !Number.isInteger(n) || n < -2147483648 || n > 2147483647) throw UNSUPPORTED;
      note(n);
      return n < 0 ? 10 : varint32Size(n);
    }
    case S.Bool:
      if (typeof v !== 'boolean') throw UNSUPPORTED;
      return 1;
    case S.Int32:
    case S.Sint32:
    case S.Uint32:
    case S.Fixed32:
    case S.Sfixed32: {
      if (typeof v !== 'number') throw UNSUPPORTED;
      if (p.kind === S.Fixed32 || p.kind === S.Sfixed32) return 4;
      const n = p.kind === S.Uint32 ? v >>> 0 : v | 0;
      if (p.kind === S.Sint32) return varint32Size(((n << 1) ^ (n >> 31)) >>> 0);
      return n < 0 ? 10 : varint32Size(n);
    }
    case S.Double:
      if (typeof v !== 'number') throw UNSUPPORTED;
      return 8;
    case S.Float:
      if (typeof v !== 'number') throw UNSUPPORTED;
      return 4;
    case S.Int64:
    case S.Uint64:
    case S.Sint64:
    case S.Fixed64:
    case S.Sfixed64: {
      push64(v, p.kind === S.Uint64 || p.kind === S.Fixed64);
      if (p.kind === S.Fixed64 || p.kind === S.Sfixed64) return 8;
      let lo = found[used - 2];
      let hi = found[used - 1];
      if (p.kind === S.Sint64) {
        // Zigzag: (v << 1) ^ (v >> 63), on the two halves.
        const mask = hi >> 31;
        const nhi = (((hi << 1) | (lo >>> 31)) ^ mask) >>> 0;
        lo = ((lo << 1) ^ mask) >>> 0;
        hi = nhi;
        found[used - 2] = lo;
        found[used - 1] = hi;
      }
      return varint64Size(lo, hi);
    }
    case S.Bytes: {
      if (!(v instanceof Uint8Array)) throw UNSUPPORTED;
      return varint32Size(v.length) + v.length;
    }
  }
}

function measureFields(plan: FieldPlan[], obj: object): number {
  // fromObject returns an instance of the type as it is, and makes others from their own fields.
  if (typeof obj !== 'object' || obj === null) throw UNSUPPORTED;
  const proto = Object.getPrototypeOf(obj) as unknown;
  if ((proto !== Object.prototype && proto !== null) || Array.isArray(obj)) throw UNSUPPORTED;
  const o = obj as Record<string, unknown>;
  let size = 0;
  for (let i = 0; i < plan.length; i++) {
    const f = plan[i];
    const v = o[f.name];
    switch (f.mode) {
      case Mode.Single: {
        if (v === undefined || v === null) continue;
        const n = measureValue(f, v, false);
        if (n >= 0) size += f.tagSize + n;
        break;
      }
      case Mode.Repeated: {
        if (!v) continue;
        if (!Array.isArray(v)) throw UNSUPPORTED;
        for (let j = 0; j < v.length; j++) size += f.tagSize + measureValue(f, v[j], true);
        break;
      }
      case Mode.Packed: {
        if (!v) continue;
        if (!Array.isArray(v)) throw UNSUPPORTED;
        if (v.length === 0) continue;
        const at = used;
        note(0);
        let n = 0;
        for (let j = 0; j < v.length; j++) n += measureValue(f, v[j], true);
        found[at] = n;
        size += f.tagSize + varint32Size(n) + n;
        break;
      }
      case Mode.Map: {
        if (!v) continue;
        if (typeof v !== 'object' || Array.isArray(v)) throw UNSUPPORTED;
        const m = v as Record<string, unknown>;
        const key = f.key as ValuePlan;
        if (key.kind !== S.String) throw UNSUPPORTED;
        for (const k in m) {
          if (!Object.prototype.hasOwnProperty.call(m, k)) continue;
          if (k === '__proto__') throw UNSUPPORTED;
          const at = used;
          note(0);
          // The key and the value are both written, whatever they hold.
          const entry = 1 + measureValue(key, k, true) + 1 + measureValue(f, m[k], true);
          found[at] = entry;
          size += f.tagSize + varint32Size(entry) + entry;
        }
        break;
      }
    }
  }
  return size;
}

function writeVarint32(buf: Buffer, pos: number, v: number): number {
  while (v > 127) {
    buf[pos++] = (v & 127) | 128;
    v >>>= 7;
  }
  buf[pos++] = v;
  return pos;
}

function writeVarint64(buf: Buffer, pos: number, lo: number, hi: number): number {
  while (hi) {
    buf[pos++] = (lo & 127) | 128;
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
  }
  return writeVarint32(buf, pos, lo);
}

function writeString(buf: Buffer, pos: number, s: string, n: number): number {
  pos = writeVarint32(buf, pos, n);
  // As protobufjs's Buffer writer: its own UTF-8 for short strings, Buffer's for the rest.
  if (s.length < 40) protobuf.util.utf8.write(s, buf, pos);
  else buf.write(s, pos);
  return pos + n;
}

function writeValue(buf: Buffer, pos: number, p: ValuePlan, v: unknown): number {
  switch (p.kind) {
    case S.String:
      return writeString(buf, pos, v as string, found[cursor++]);
    case S.Message:
      pos = writeVarint32(buf, pos, found[cursor++]);
      return writeFields(buf, pos, p.fields as FieldPlan[], v as object);
    case S.Enum: {
      const n = found[cursor++];
      return n < 0 ? writeVarint64(buf, pos, n >>> 0, 0xffffffff) : writeVarint32(buf, pos, n);
    }
    case S.Bool:
      buf[pos] = v ? 1 : 0;
      return pos + 1;
    case S.Int32:
    case S.Uint32: {
      const n = p.kind === S.Uint32 ? (v as number) >>> 0 : (v as number) | 0;
      return n < 0 ? writeVarint64(buf, pos, n >>> 0, 0xffffffff) : writeVarint32(buf, pos, n);
    }
    case S.Sint32: {
      const n = (v as number) | 0;
      return writeVarint32(buf, pos, ((n << 1) ^ (n >> 31)) >>> 0);
    }
    case S.Fixed32:
      buf.writeUInt32LE((v as number) >>> 0, pos);
      return pos + 4;
    case S.Sfixed32:
      buf.writeInt32LE((v as number) | 0, pos);
      return pos + 4;
    case S.Double:
      buf.writeDoubleLE(v as number, pos);
      return pos + 8;
    case S.Float:
      buf.writeFloatLE(v as number, pos);
      return pos + 4;
    case S.Int64:
    case S.Uint64:
    case S.Sint64: {
      const lo = found[cursor++];
      const hi = found[cursor++];
      return writeVarint64(buf, pos, lo, hi);
    }
    case S.Fixed64:
    case S.Sfixed64: {
      buf.writeUInt32LE(found[cursor++], pos);
      buf.writeUInt32LE(found[cursor++], pos + 4);
      return pos + 8;
    }
    case S.Bytes: {
      const b = v as Uint8Array;
      pos = writeVarint32(buf, pos, b.length);
      buf.set(b, pos);
      return pos + b.length;
    }
  }
}

function writeFields(buf: Buffer, pos: number, plan: FieldPlan[], obj: object): number {
  const o = obj as Record<string, unknown>;
  for (let i = 0; i < plan.length; i++) {
    const f = plan[i];
    const v = o[f.name];
    switch (f.mode) {
      case Mode.Single:
        if (v === undefined || v === null) continue;
        // An enum value fromObject cannot name is left out (measured as such: nothing recorded).
        if (f.kind === S.Enum && enumNumber(f, v) === undefined) continue;
        pos = writeVarint32(buf, pos, f.tag);
        pos = writeValue(buf, pos, f, v);
        break;
      case Mode.Repeated:
        if (!v) continue;
        for (let j = 0, list = v as unknown[]; j < list.length; j++) {
          pos = writeVarint32(buf, pos, f.tag);
          pos = writeValue(buf, pos, f, list[j]);
        }
        break;
      case Mode.Packed: {
        const list = v as unknown[] | undefined;
        if (!list || list.length === 0) continue;
        pos = writeVarint32(buf, pos, f.tag);
        pos = writeVarint32(buf, pos, found[cursor++]);
        for (let j = 0; j < list.length; j++) pos = writeValue(buf, pos, f, list[j]);
        break;
      }
      case Mode.Map: {
        if (!v) continue;
        const m = v as Record<string, unknown>;
        for (const k in m) {
          if (!Object.prototype.hasOwnProperty.call(m, k)) continue;
          pos = writeVarint32(buf, pos, f.tag);
          pos = writeVarint32(buf, pos, found[cursor++]);
          buf[pos++] = 0x0a;
          pos = writeValue(buf, pos, f.key as ValuePlan, k);
          buf[pos++] = 0x10 | wireType(f.kind);
          pos = writeValue(buf, pos, f, m[k]);
        }
        break;
      }
    }
  }
  return pos;
}

/**
 * Encodes `obj` as a message of `type`; undefined when a value is of a shape only the generic
 * encoder converts (the caller then uses it). `alloc` makes the output buffer (Buffer.allocUnsafe,
 * the generic writer's own choice, unless told otherwise).
 */
export function encodePlain(
  type: protobuf.Type,
  obj: object,
  alloc: (size: number) => Buffer = Buffer.allocUnsafe,
): Buffer | undefined {
  used = 0;
  cursor = 0;
  let plan: FieldPlan[];
  let size: number;
  try {
    plan = planOf(type);
    size = measureFields(plan, obj);
  } catch (err) {
    if (err === UNSUPPORTED) return undefined;
    throw err;
  }
  const buf = alloc(size);
  const end = writeFields(buf, 0, plan, obj);
  if (end !== size) throw new Error(`plain encoder wrote ${end} bytes of ${size} for ${type.fullName}`);
  // A large answer leaves a large array behind: let it go.
  if (found.length > 65536) found = new Float64Array(1024);
  return buf;
}

/** encodePlain, else protobufjs's own encoding: the bytes of `type.encode(type.fromObject(obj))`. */
export function encodeMessage(type: protobuf.Type, obj: object, alloc?: (size: number) => Buffer): Buffer {
  const plain = encodePlain(type, obj, alloc);
  if (plain) return plain;
  const bytes = type.encode(type.fromObject(obj as Record<string, unknown>)).finish() as Buffer;
  if (!alloc) return bytes;
  // The caller wanted a buffer of its making (one of its own, not a slice of node's pool).
  const own = alloc(bytes.length);
  own.set(bytes);
  return own;
}
