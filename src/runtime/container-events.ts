import type * as grpc from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import type { Deps } from '../deps';
import { startCall, type CallContext } from '../grpc/handler';
import type { GetEventsRequest__Output } from '../generated/runtime/v1/GetEventsRequest';
import type { ContainerEventResponse } from '../generated/runtime/v1/ContainerEventResponse';
import type { ContainerEventType } from '../generated/runtime/v1/ContainerEventType';
import type { ContainerStatus } from '../generated/runtime/v1/ContainerStatus';
import type { PodSandboxStatus } from '../generated/runtime/v1/PodSandboxStatus';
import type { IndexChange, IndexedContainer } from '../docker/container-index';
import { isContainerLabels, isSandboxLabels, LABEL_SANDBOX_ID } from '../translate/labels';
import { nowNanos } from '../translate/time';
import { logger } from '../logger';
import { podSandboxStatus, sandboxContainerStatuses } from './sandbox-status';

type EventType = Exclude<ContainerEventType, number>;

/** Where a Docker state sits in a container's life: absent, created, running, exited. */
function rank(c: IndexedContainer | undefined): number {
  if (!c) return -1;
  switch (c.state) {
    case 'created':
      return 0;
    case 'running':
    case 'paused':
    case 'restarting':
      return 1;
    case 'exited':
    case 'dead':
      return 2;
    default:
      return NaN; // removing and the like: no step of its own
  }
}

const STEP: EventType[] = ['CONTAINER_CREATED_EVENT', 'CONTAINER_STARTED_EVENT', 'CONTAINER_STOPPED_EVENT'];

/**
 * The CRI events one index change stands for, in order. The index may skip states (a container
 * that started and died between two looks), so every step passed over is reported. Pure.
 */
export function eventTypesFor(
  before: IndexedContainer | undefined,
  after: IndexedContainer | undefined,
): EventType[] {
  const from = rank(before);
  if (!after) {
    if (!before) return [];
    return from === 1 ? ['CONTAINER_STOPPED_EVENT', 'CONTAINER_DELETED_EVENT'] : ['CONTAINER_DELETED_EVENT'];
  }
  const to = rank(after);
  if (Number.isNaN(to)) return [];
  // "removing" in between: compare with where it was before that.
  const start = Number.isNaN(from) ? 0 : from;
  if (to > start) return STEP.slice(start + 1, to + 1);
  // A restart: exited, then running again.
  if (to === 1 && start === 2) return ['CONTAINER_STARTED_EVENT'];
  return [];
}

type Sink = (ev: ContainerEventResponse) => void;

/**
 * Turns index changes into CRI events for every subscriber. Changes are handled one at a time so
 * that each subscriber sees them in the order they happened; statuses are built once per change,
 * and only while someone listens.
 */
export class EventHub {
  private sinks = new Map<Sink, () => void>();
  private chain: Promise<void> = Promise.resolve();
  private readonly sandboxStatus;
  private readonly onChange = (c: IndexChange): void => {
    this.chain = this.chain
      .then(() => this.publish(c))
      .catch((err: unknown) => {
        logger.warn('container event failed', { id: c.id, error: (err as Error).message });
      });
  };

  constructor(private readonly deps: Deps) {
    this.sandboxStatus = podSandboxStatus(deps);
  }

  subscribe(sink: Sink, end: () => void): () => void {
    if (this.sinks.size === 0) this.deps.index.on('change', this.onChange);
    this.sinks.set(sink, end);
    return () => {
      this.sinks.delete(sink);
      if (this.sinks.size === 0) this.deps.index.off('change', this.onChange);
    };
  }

  /** Ends every stream (at shutdown: the server waits for open streams otherwise). */
  close(): void {
    for (const end of [...this.sinks.values()]) end();
  }

  private async publish(c: IndexChange): Promise<void> {
    const entry = c.after ?? c.before;
    if (!entry || (!isContainerLabels(entry.labels) && !isSandboxLabels(entry.labels))) return;
    const types = eventTypesFor(c.before, c.after);
    if (types.length === 0 || this.sinks.size === 0) return;
    const sandboxId = isSandboxLabels(entry.labels) ? entry.id : entry.labels[LABEL_SANDBOX_ID];
    const { podStatus, statuses } = await this.podState(sandboxId);
    for (const type of types) {
      const ev: ContainerEventResponse = {
        container_id: c.id,
        container_event_type: type,
        created_at: nowNanos(),
        pod_sandbox_status: podStatus,
        containers_statuses: statuses,
      };
      for (const sink of [...this.sinks.keys()]) sink(ev);
    }
  }

  private ctx(): CallContext {
    return { signal: new AbortController().signal };
  }

  /** The pod's status and its containers' (these alone when the sandbox is gone). */
  private async podState(
    sandboxId: string | undefined,
  ): Promise<{ podStatus: PodSandboxStatus | null; statuses: ContainerStatus[] }> {
    if (!sandboxId) return { podStatus: null, statuses: [] };
    try {
      const res = await this.sandboxStatus({ pod_sandbox_id: sandboxId, verbose: false }, this.ctx());
      return { podStatus: res.status ?? null, statuses: res.containers_statuses ?? [] };
    } catch {
      // Removed meanwhile.
      const statuses = await sandboxContainerStatuses(this.deps, sandboxId).catch(() => []);
      return { podStatus: null, statuses };
    }
  }
}

/** The app's hub, made with its first stream. */
function hubOf(deps: Deps): EventHub {
  deps.eventHub ??= new EventHub(deps);
  return deps.eventHub;
}

/** Ends every GetContainerEvents stream of this app; called before the server shuts down. */
export function closeEventStreams(deps: Deps): void {
  deps.eventHub?.close();
}

/**
 * GetContainerEvents: a server stream that lasts until the client goes away (or we stop). Either is
 * the normal end and counts as OK; a failed write on the call counts with its code.
 */
export function getContainerEvents(
  deps: Deps,
): grpc.handleServerStreamingCall<GetEventsRequest__Output, ContainerEventResponse> {
  return (call) => {
    const hub = hubOf(deps);
    const finish = startCall('GetContainerEvents', call.request);
    let ended = false;
    const end = (failure?: { code?: number; message?: string }): void => {
      if (ended) return;
      ended = true;
      unsubscribe();
      if (!call.cancelled) call.end();
      if (failure) finish(failure.code ?? status.UNKNOWN, failure.message);
      else finish(status.OK);
    };
    const unsubscribe = hub.subscribe((ev) => {
      if (!ended) call.write(ev);
    }, end);
    call.on('cancelled', () => end());
    call.on('error', (err: { code?: number; message?: string }) => end(err));
    call.on('close', () => end());
    logger.debug('cri stream opened', { method: 'GetContainerEvents' });
  };
}
