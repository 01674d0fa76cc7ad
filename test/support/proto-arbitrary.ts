import fc from 'fast-check';
import * as protobuf from 'protobufjs';
import { protoPath } from '../../src/grpc/proto';

/**
 * fast-check arbitraries for any CRI request type, read from the proto itself, so that every
 * field of every RPC is driven with hostile values without a hand-written list that goes stale.
 */
let root: protobuf.Root | undefined;
export function criRoot(): protobuf.Root {
  if (!root) {
    root = new protobuf.Root().loadSync(protoPath(), { keepCase: true });
    root.resolveAll();
  }
  return root;
}

/**
 * A short hex string is a valid id prefix: RemovePodSandbox("0") would remove whichever pod's id
 * starts with 0, including pods of other suites or benchmarks on the same engine. Hostile strings
 * that are hex are therefore long enough never to match a real id.
 */
const notAnIdPrefix = (s: string): string =>
  /^[0-9a-f]{1,31}$/.test(s) ? `${s}${'e'.repeat(32 - s.length)}z` : s;

const hostileString = fc.oneof(
  fc.constant(''),
  fc.constant('../../../../etc/passwd'),
  fc.constant('/etc/shadow'),
  fc.constant('a/../../b'),
  fc.constant('$(touch /tmp/dcri-pwned)'),
  fc.constant('; rm -rf / #'),
  fc.constant('0z'),
  fc.constant('xyz'),
  fc.constant('0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef'),
  fc.constant('x'.repeat(70_000)),
  fc.constant('ünïcødé ☃ \u0000 nul'),
  fc.constant('sha256:' + 'f'.repeat(64)),
  fc.constant('Not A Reference'),
  fc.string({ maxLength: 40 }).map(notAnIdPrefix),
);

const hostileInt64 = fc.oneof(
  fc.constant('-1'),
  fc.constant('0'),
  fc.constant('9223372036854775807'),
  fc.constant('-9223372036854775808'),
  fc.integer({ min: -1_000_000, max: 1_000_000 }).map(String),
);

const hostileInt32 = fc.oneof(
  fc.constant(-1),
  fc.constant(0),
  fc.constant(2147483647),
  fc.constant(-2147483648),
  fc.integer({ min: -1000, max: 1000 }),
);

function scalar(type: string): fc.Arbitrary<unknown> {
  switch (type) {
    case 'string':
      return hostileString;
    case 'bytes':
      return fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a));
    case 'bool':
      return fc.boolean();
    case 'int64':
    case 'sint64':
    case 'sfixed64':
      return hostileInt64;
    case 'uint64':
    case 'fixed64':
      return fc.oneof(fc.constant('0'), fc.constant('18446744073709551615'), fc.nat().map(String));
    case 'int32':
    case 'sint32':
    case 'sfixed32':
      return hostileInt32;
    case 'uint32':
    case 'fixed32':
      return fc.oneof(fc.constant(0), fc.constant(4294967295), fc.nat({ max: 70000 }));
    case 'double':
    case 'float':
      return fc.double();
    default:
      return fc.constant(undefined);
  }
}

function fieldArb(field: protobuf.Field, depth: number): fc.Arbitrary<unknown> {
  const resolved = field.resolvedType;
  let one: fc.Arbitrary<unknown>;
  if (resolved instanceof protobuf.Enum) {
    const values = Object.keys(resolved.values);
    // Names of real values, and numbers no version of the enum defines.
    one = fc.oneof(fc.constantFrom(...values), fc.constant(99), fc.constant(-5));
  } else if (resolved instanceof protobuf.Type) {
    if (depth <= 0)
      return field.repeated || field instanceof protobuf.MapField
        ? fc.constant(undefined)
        : fc.constant(null);
    // Elements of lists and maps cannot be null on the wire; a singular message may be absent.
    one =
      field.repeated || field instanceof protobuf.MapField
        ? messageArb(resolved, depth - 1)
        : fc.option(messageArb(resolved, depth - 1), { nil: null });
  } else {
    one = scalar(field.type);
  }
  if (field instanceof protobuf.MapField) {
    return fc.dictionary(fc.oneof(fc.constant(''), fc.string({ maxLength: 20 })), one, { maxKeys: 3 });
  }
  if (field.repeated) return fc.array(one, { maxLength: 3 });
  return one;
}

export function messageArb(type: protobuf.Type, depth = 3): fc.Arbitrary<Record<string, unknown>> {
  const shape: Record<string, fc.Arbitrary<unknown>> = {};
  for (const field of type.fieldsArray) shape[field.name] = fieldArb(field, depth);
  return fc.record(shape, { requiredKeys: [] }) as fc.Arbitrary<Record<string, unknown>>;
}

export function requestTypeOf(service: string, method: string): protobuf.Type {
  const svc = criRoot().lookupService(`runtime.v1.${service}`);
  return svc.methods[method].resolvedRequestType as protobuf.Type;
}

export function unaryMethods(service: string): string[] {
  const svc = criRoot().lookupService(`runtime.v1.${service}`);
  return Object.values(svc.methods)
    .filter((m) => !m.responseStream && !m.requestStream)
    .map((m) => m.name);
}
