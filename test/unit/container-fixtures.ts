import * as protobuf from 'protobufjs';
import { protoPath } from '../../src/grpc/proto';
import type { ContainerConfig__Output } from '../../src/generated/runtime/v1/ContainerConfig';
import type { PodSandboxConfig__Output } from '../../src/generated/runtime/v1/PodSandboxConfig';
import type { LinuxContainerResources__Output } from '../../src/generated/runtime/v1/LinuxContainerResources';

let root: protobuf.Root | undefined;

/**
 * A message as the server receives it: through the proto with the loader's options, so defaults,
 * nulls and string int64s are exactly what handlers see.
 */
export function decoded<T>(typeName: string, obj: object): T {
  root ??= new protobuf.Root().loadSync(protoPath(), { keepCase: true });
  const type = root.lookupType(`runtime.v1.${typeName}`);
  const msg = type.decode(type.encode(type.fromObject(obj)).finish());
  return type.toObject(msg, { longs: String, enums: String, defaults: true, oneofs: true }) as T;
}

export const containerConfig = (obj: object): ContainerConfig__Output =>
  decoded<ContainerConfig__Output>('ContainerConfig', {
    metadata: { name: 'app', attempt: 1 },
    image: { image: 'busybox:latest' },
    ...obj,
  });

export const sandboxConfig = (obj: object = {}): PodSandboxConfig__Output =>
  decoded<PodSandboxConfig__Output>('PodSandboxConfig', {
    metadata: { name: 'pod', namespace: 'ns', uid: 'uid1', attempt: 0 },
    log_directory: '/var/log/pods/ns_pod_uid1',
    ...obj,
  });

export const resources = (obj: object): LinuxContainerResources__Output =>
  decoded<LinuxContainerResources__Output>('LinuxContainerResources', obj);
