import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType } from '../generated/api';
import { LOADER_OPTIONS, protoPath } from './proto';

let cached: ProtoGrpcType | undefined;

/**
 * The CRI as @grpc/proto-loader loads it, with client constructors: for clients (smoke-check, the
 * tests' CRI client). The server builds its definitions from criRoot() instead and never loads
 * proto-loader, so the executable does not carry a second copy of the proto's types.
 */
export function loadCri(): ProtoGrpcType {
  if (!cached) {
    const def = protoLoader.loadSync(protoPath(), LOADER_OPTIONS);
    cached = grpc.loadPackageDefinition(def) as unknown as ProtoGrpcType;
  }
  return cached;
}
