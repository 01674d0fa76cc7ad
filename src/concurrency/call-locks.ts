import type { UnaryImpl } from '../grpc/handler';
import type { KeyedMutex } from './keyed-mutex';

/**
 * What one call holds while it runs: its pod (key: the sandbox's full id) and a name reservation
 * (key: the Docker name, or what fixes it, of the container the call is about to create). Either
 * may be absent: an unknown pod or a request too malformed to name anything locks nothing, and
 * the handler then answers as it would anyway.
 */
export interface CallLocks {
  pod?: string;
  name?: string;
}

/** Works out a call's locks from its request (may look the pod up). */
export type LockKeys<Req> = (req: Req) => CallLocks | Promise<CallLocks>;

/**
 * The name reservation, as containerd's name index does it but in one process: while a create of a
 * name runs, a second create of the same name (the kubelet retrying after its deadline) waits for
 * it and then finds the first one's container holding the name, instead of racing it to Docker.
 */
export const nameKey = (name: string): string => `name/${name}`;
export const podKey = (sandboxId: string): string => `pod/${sandboxId}`;

/**
 * Runs `impl` holding the locks `keys` names, pod first, then name. Every call takes them in that
 * order (and RunPodSandbox, which reserves a name, holds no pod), so no two calls can wait on each
 * other in a circle.
 */
export function withLocks<Req, Res>(
  mutex: KeyedMutex,
  keys: LockKeys<Req>,
  impl: UnaryImpl<Req, Res>,
): UnaryImpl<Req, Res> {
  return async (req, ctx) => {
    const { pod, name } = await keys(req);
    const reserved = (): Promise<Res> =>
      name ? mutex.run(nameKey(name), () => impl(req, ctx)) : impl(req, ctx);
    return pod ? mutex.run(podKey(pod), reserved) : reserved();
  };
}
