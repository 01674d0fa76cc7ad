import fs from 'fs';
import path from 'path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import * as protobuf from 'protobufjs';
import type { ProtoGrpcType } from '../generated/api';
import { embeddedText } from '../sea';

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
 * Options shared by server and test clients. int64 fields travel as decimal strings because
 * nanosecond timestamps do not fit in a JS number; field names stay snake_case as in the proto.
 */
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

/** The CRI proto parsed by protobufjs, field names as written: embedded in the executable, else the file. */
export function criProtoRoot(): protobuf.Root {
  const embedded = embeddedText('api.proto');
  if (embedded) return protobuf.parse(embedded, new protobuf.Root(), { keepCase: true }).root;
  return new protobuf.Root().loadSync(protoPath(), { keepCase: true });
}

let cached: ProtoGrpcType | undefined;

export function loadCri(): ProtoGrpcType {
  if (!cached) {
    // The packaged executable carries the proto inside; proto-loader reads only files, so the
    // text is parsed by protobufjs and handed over as its JSON form.
    const def = embeddedText('api.proto')
      ? protoLoader.fromJSON(criProtoRoot().toJSON(), LOADER_OPTIONS)
      : protoLoader.loadSync(protoPath(), LOADER_OPTIONS);
    cached = grpc.loadPackageDefinition(def) as unknown as ProtoGrpcType;
  }
  return cached;
}

/** gRPC message limits both ways: the kubelet allows 16 MiB, and so do we. */
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
