import fs from 'fs';
import path from 'path';
import type { MethodDefinition, ServiceDefinition } from './server-calls';
import * as protobuf from 'protobufjs';
import { embeddedText } from '../sea';
import { encodeMessage } from './plain-encoder';

/** Where the CRI proto sits, both from src/ (ts-jest) and from dist/src/ (built). */
export function protoPath(): string {
  const candidates = [
    path.resolve(__dirname, '../../proto/runtime/v1/api.proto'),
    path.resolve(__dirname, '../../../proto/runtime/v1/api.proto'),
  ];
  for (const c of candidates) {
    try {
      fs.accessSync(c);
      return c;
    } catch {
      // try the next one
    }
  }
  throw new Error(`CRI proto not found (looked in ${candidates.join(', ')})`);
}

/**
 * How messages become JS objects, for the server and for test clients (these are
 * @grpc/proto-loader's options of the same names). int64 fields travel as decimal strings because
 * nanosecond timestamps do not fit in a JS number; field names stay snake_case as in the proto.
 */
export const LOADER_OPTIONS = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
} as const;

/** The CRI proto parsed by protobufjs, field names as written: embedded in the executable, else the file. */
export function criProtoRoot(): protobuf.Root {
  const embedded = embeddedText('api.proto');
  if (embedded) return protobuf.parse(embedded, new protobuf.Root(), { keepCase: true }).root;
  return new protobuf.Root().loadSync(protoPath(), { keepCase: true });
}

let root: protobuf.Root | undefined;

/**
 * The process's one parsed and resolved CRI root: the service definitions and the cached list and
 * status encoders (list-encoding.ts) share it. Parsing the proto again for either costs about
 * 1.5 MiB of heap kept for good, and proto-loader's package definition (a descriptor object per
 * message) as much again; see criServiceDefinition.
 */
export function criRoot(): protobuf.Root {
  if (!root) {
    root = criProtoRoot();
    root.resolveAll();
  }
  return root;
}

const toObjectOptions: protobuf.IConversionOptions = {
  longs: LOADER_OPTIONS.longs,
  enums: LOADER_OPTIONS.enums,
  defaults: LOADER_OPTIONS.defaults,
  oneofs: LOADER_OPTIONS.oneofs,
};

function serializer(type: protobuf.Type): (value: unknown) => Buffer {
  return (value) => {
    if (Array.isArray(value)) {
      throw new Error(
        `Failed to serialize message: expected object with ${type.name} structure, got array instead`,
      );
    }
    // The generic encoder's bytes, mostly without its intermediate objects (plain-encoder.ts).
    return encodeMessage(type, value as object);
  };
}

function deserializer(type: protobuf.Type): (bytes: Buffer) => unknown {
  return (bytes) => type.toObject(type.decode(bytes), toObjectOptions);
}

/**
 * A CRI service's gRPC definition, made from criRoot() as @grpc/proto-loader makes it (the same
 * paths, stream flags and (de)serializers under LOADER_OPTIONS; a unit test compares the bytes and
 * objects of every method both ways), without the package definition proto-loader builds beside
 * it for reflection, which the server never serves.
 */
export function criServiceDefinition(service: 'RuntimeService' | 'ImageService'): ServiceDefinition {
  const s = criRoot().lookupService(`runtime.v1.${service}`);
  const def: Record<string, MethodDefinition> = {};
  for (const m of s.methodsArray) {
    const req = m.resolvedRequestType as protobuf.Type;
    const res = m.resolvedResponseType as protobuf.Type;
    def[m.name] = {
      path: `/runtime.v1.${service}/${m.name}`,
      requestStream: Boolean(m.requestStream),
      responseStream: Boolean(m.responseStream),
      requestSerialize: serializer(req),
      requestDeserialize: deserializer(req),
      responseSerialize: serializer(res),
      responseDeserialize: deserializer(res),
      originalName: m.name.charAt(0).toLowerCase() + m.name.slice(1),
    };
  }
  return def;
}

/** gRPC message limits both ways: the kubelet allows 16 MiB, and so do we. */
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
