import * as protobuf from 'protobufjs';
import type * as grpc from '@grpc/grpc-js';
import { criProtoRoot } from './proto';

/**
 * The kubelet lists every container and sandbox every second or so, and encoding hundreds of
 * messages with protobufjs costs more than everything else in those calls. Items come from a
 * translation memoized per index entry, so the same object is answered until the container
 * changes; its encoded bytes are kept beside it here and a list answer is their concatenation.
 * The bytes are exactly what the generic serializer writes (a test compares them).
 */
let root: protobuf.Root | undefined;
function criRoot(): protobuf.Root {
  if (!root) {
    root = criProtoRoot();
    root.resolveAll();
  }
  return root;
}

/** Serializer for a response whose only field is `repeated <itemType> <field> = 1`. */
export function cachedListSerializer(itemType: string, field: string): (res: object) => Buffer {
  const type = criRoot().lookupType(itemType);
  const bytes = new WeakMap<object, Uint8Array>();
  const header = protobuf.Writer.create();
  return (res) => {
    const items = ((res as Record<string, unknown>)[field] ?? []) as object[];
    const parts: Uint8Array[] = [];
    for (const item of items) {
      let b = bytes.get(item);
      if (!b) {
        b = type.encode(type.fromObject(item)).finish();
        bytes.set(item, b);
      }
      // Field 1, wire type 2 (length-delimited), then the length.
      parts.push(header.reset().uint32(0x0a).uint32(b.length).finish(), b);
    }
    return Buffer.concat(parts);
  };
}

/** Puts the cached serializers on ListContainers and ListPodSandbox of the RuntimeService. */
export function useCachedListEncoding(def: grpc.ServiceDefinition): void {
  const patch = (method: string, itemType: string, field: string): void => {
    const m = def[method] as { responseSerialize: (res: unknown) => Buffer } | undefined;
    if (m) m.responseSerialize = cachedListSerializer(itemType, field) as (res: unknown) => Buffer;
  };
  patch('ListContainers', 'runtime.v1.Container', 'containers');
  patch('ListPodSandbox', 'runtime.v1.PodSandbox', 'items');
}
