import * as protobuf from 'protobufjs';
import type { ServiceDefinition } from './server-calls';
import { criRoot } from './proto';
import { encodeMessage } from './plain-encoder';

/**
 * The kubelet lists every container and sandbox every second or so, and encoding hundreds of
 * messages with protobufjs costs more than everything else in those calls. Items come from a
 * translation memoized per index entry, so the same object is answered until the container
 * changes; its encoded bytes are kept beside it here and a list answer is their concatenation.
 * The bytes are exactly what the generic serializer writes (a test compares them).
 */
const itemCaches = new Map<string, WeakMap<object, Uint8Array>>();

const ownBuffer = (size: number): Buffer => Buffer.allocUnsafeSlow(size);

/** An item's protobuf bytes, encoded once per item object and type. */
export function encodedItem(itemType: string, item: object): Uint8Array {
  let cache = itemCaches.get(itemType);
  if (!cache) {
    cache = new WeakMap();
    itemCaches.set(itemType, cache);
  }
  let b = cache.get(item);
  if (!b) {
    const type = criRoot().lookupType(itemType);
    // A buffer of its own: a small Buffer.allocUnsafe is a slice of node's shared pool slab (64 KiB
    // from Node 26, 8 KiB before), and a kept slice keeps its whole slab. At 110 pods the kept
    // items held about a hundred slabs (6.6 MiB) for some 100 KiB of bytes.
    b = encodeMessage(type, item, ownBuffer);
    cache.set(item, b);
  }
  return b;
}

/** Bytes an item takes inside its list message: tag, length, body. */
export function encodedItemSize(itemType: string, item: object): number {
  const n = encodedItem(itemType, item).length;
  return 1 + protobuf.Writer.create().uint32(n).len + n;
}

/** Serializer for a response whose only field is `repeated <itemType> <field> = 1`. */
export function cachedListSerializer(itemType: string, field: string): (res: object) => Buffer {
  const header = protobuf.Writer.create();
  return (res) => {
    const items = ((res as Record<string, unknown>)[field] ?? []) as object[];
    const parts: Uint8Array[] = [];
    for (const item of items) {
      const b = encodedItem(itemType, item);
      // Field 1, wire type 2 (length-delimited), then the length.
      parts.push(header.reset().uint32(0x0a).uint32(b.length).finish(), b);
    }
    return Buffer.concat(parts);
  };
}

/**
 * The list and stream methods whose answer is one repeated item field, by service method name.
 * Stream chunks are sized from the same cached bytes, so no item is encoded twice.
 */
export const LIST_FIELDS: Record<string, { itemType: string; field: string }> = {
  ListContainers: { itemType: 'runtime.v1.Container', field: 'containers' },
  ListPodSandbox: { itemType: 'runtime.v1.PodSandbox', field: 'items' },
  StreamContainers: { itemType: 'runtime.v1.Container', field: 'containers' },
  StreamPodSandboxes: { itemType: 'runtime.v1.PodSandbox', field: 'pod_sandboxes' },
  StreamImages: { itemType: 'runtime.v1.Image', field: 'images' },
  StreamContainerStats: { itemType: 'runtime.v1.ContainerStats', field: 'container_stats' },
  StreamPodSandboxStats: { itemType: 'runtime.v1.PodSandboxStats', field: 'pod_sandbox_stats' },
  StreamPodSandboxMetrics: { itemType: 'runtime.v1.PodSandboxMetrics', field: 'pod_sandbox_metrics' },
};

/**
 * Serializer for a status answer whose message fields hold objects kept across calls (the status
 * caches of state/container-status-cache.ts): those fields are written from their cached bytes and
 * the rest (a timestamp) encoded as usual. Fields are written in number order, as protobufjs does,
 * so the bytes are the generic serializer's; an answer with `info` (verbose) is encoded as usual.
 */
export function cachedStatusSerializer(
  responseType: string,
  cachedFields: Array<{ field: string; number: number; itemType: string }>,
): (res: object) => Buffer {
  const header = protobuf.Writer.create();
  const ordered = [...cachedFields].sort((a, b) => a.number - b.number);
  let responseMessage: protobuf.Type | undefined;
  return (res) => {
    const r = res as Record<string, unknown>;
    const type = (responseMessage ??= criRoot().lookupType(responseType));
    const info = r.info as Record<string, unknown> | undefined;
    if (info && Object.keys(info).length > 0) return encodeMessage(type, r);
    const rest: Record<string, unknown> = { ...r };
    const parts: Uint8Array[] = [];
    for (const { field, number, itemType } of ordered) {
      delete rest[field];
      const value = r[field];
      if (value === undefined || value === null) continue;
      for (const item of Array.isArray(value) ? (value as object[]) : [value as object]) {
        const b = encodedItem(itemType, item);
        parts.push(
          header
            .reset()
            .uint32((number << 3) | 2)
            .uint32(b.length)
            .finish(),
          b,
        );
      }
    }
    // Only fields numbered after the cached ones remain (the timestamp): they follow them.
    parts.push(encodeMessage(type, rest));
    return Buffer.concat(parts);
  };
}

/** The status methods answered from the status caches, and their kept message fields. */
export const STATUS_FIELDS: Record<
  string,
  { responseType: string; fields: Array<{ field: string; number: number; itemType: string }> }
> = {
  ContainerStatus: {
    responseType: 'runtime.v1.ContainerStatusResponse',
    fields: [{ field: 'status', number: 1, itemType: 'runtime.v1.ContainerStatus' }],
  },
  PodSandboxStatus: {
    responseType: 'runtime.v1.PodSandboxStatusResponse',
    fields: [
      { field: 'status', number: 1, itemType: 'runtime.v1.PodSandboxStatus' },
      { field: 'containers_statuses', number: 3, itemType: 'runtime.v1.ContainerStatus' },
    ],
  },
};

/** Puts the cached serializers on the list methods (and list streams) and status methods a service has. */
export function useCachedListEncoding(def: ServiceDefinition): void {
  for (const [method, { itemType, field }] of Object.entries(LIST_FIELDS)) {
    const m = def[method] as { responseSerialize: (res: unknown) => Buffer } | undefined;
    if (m) m.responseSerialize = cachedListSerializer(itemType, field) as (res: unknown) => Buffer;
  }
  for (const [method, { responseType, fields }] of Object.entries(STATUS_FIELDS)) {
    const m = def[method] as { responseSerialize: (res: unknown) => Buffer } | undefined;
    if (m) m.responseSerialize = cachedStatusSerializer(responseType, fields) as (res: unknown) => Buffer;
  }
}
