import type { StreamHandler } from '../grpc/server-calls';
import { status } from '../grpc/status-codes';
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

/** One GetContainerEvents client, as the hub sees it. */
export interface EventSubscriber {
  /** Hands an event over; never waits (a subscriber that cannot keep up ends itself). */
  send(ev: ContainerEventResponse): void;
  /** Ends the subscriber's stream (the app is stopping). */
  end(): void;
}

/**
 * Events a subscriber may have waiting for its client before its stream is ended: as many as
 * Docker keeps for one of its own events subscribers. A client this far behind has lost track of
 * the node anyway; ending its stream makes the kubelet relist, which catches it up at once.
 */
export const EVENTS_BUFFER = 1024;

export interface EventHubOptions {
  /** Events queued per subscriber before its stream ends RESOURCE_EXHAUSTED (EVENTS_BUFFER). */
  maxQueued?: number;
}

/** The pod a change belongs to: its sandbox's id (a sandbox's own id); undefined when not ours. */
function podOf(c: IndexChange): string | undefined {
  const entry = c.after ?? c.before;
  if (!entry) return undefined;
  if (isSandboxLabels(entry.labels)) return entry.id;
  if (!isContainerLabels(entry.labels)) return undefined;
  // A container without a sandbox label is its own pod: ordered with itself only.
  return entry.labels[LABEL_SANDBOX_ID] || entry.id;
}

/**
 * Turns index changes into CRI events for every subscriber. Changes of one pod are handled one at
 * a time, in the order they happened, so that each subscriber sees a pod's events in order; pods
 * do not wait for each other (a pod whose status waits for a log drain holds up only its own
 * events). Statuses are built once per change, and only while someone listens.
 */
export class EventHub {
  private subscribers = new Set<EventSubscriber>();
  /** The last change being handled per pod; removed once a pod's chain has run out. */
  private readonly pods = new Map<string, Promise<void>>();
  private readonly sandboxStatus;
  readonly maxQueued: number;
  private readonly onChange = (c: IndexChange): void => {
    const pod = podOf(c);
    if (pod === undefined) return;
    const next = (this.pods.get(pod) ?? Promise.resolve())
      .then(() => this.publish(c))
      .catch((err: unknown) => {
        logger.warn('container event failed', { id: c.id, error: (err as Error).message });
      });
    this.pods.set(pod, next);
    void next.then(() => {
      if (this.pods.get(pod) === next) this.pods.delete(pod);
    });
  };

  constructor(
    private readonly deps: Deps,
    opts: EventHubOptions = {},
  ) {
    this.sandboxStatus = podSandboxStatus(deps);
    this.maxQueued = opts.maxQueued ?? EVENTS_BUFFER;
  }

  subscribe(sub: EventSubscriber): () => void {
    if (this.subscribers.size === 0) this.deps.index.on('change', this.onChange);
    this.subscribers.add(sub);
    return () => {
      if (!this.subscribers.delete(sub)) return;
      if (this.subscribers.size === 0) this.deps.index.off('change', this.onChange);
    };
  }

  /** Pods with changes being turned into events (for tests and leak checks). */
  busyPods(): number {
    return this.pods.size;
  }

  /** Ends every stream (at shutdown: the server waits for open streams otherwise). */
  close(): void {
    for (const sub of [...this.subscribers]) sub.end();
  }

  private async publish(c: IndexChange): Promise<void> {
    const types = eventTypesFor(c.before, c.after);
    const entry = c.after ?? c.before;
    if (!entry || types.length === 0 || this.subscribers.size === 0) return;
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
      for (const sub of [...this.subscribers]) sub.send(ev);
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

/** The server side of a GetContainerEvents call, as far as a subscriber uses it. */
export interface EventsCall {
  readonly cancelled: boolean;
  write(ev: ContainerEventResponse): boolean;
  end(): void;
  once(event: 'drain', listener: () => void): unknown;
  emit(event: 'error', err: { code: number; details: string }): boolean;
}

/**
 * One client's events on their way to its stream. It writes while the stream takes them; once
 * grpc-js says its buffer is full (write() answers false) it queues events until 'drain'. A client
 * that lets `maxQueued` events wait has fallen behind for good: its queue is dropped and its stream
 * ends RESOURCE_EXHAUSTED, which a kubelet answers by relisting and opening a new stream.
 */
export class StreamSubscriber implements EventSubscriber {
  private queue: ContainerEventResponse[] = [];
  private blocked = false;
  private done = false;
  private readonly flush = (): void => {
    this.blocked = false;
    let i = 0;
    while (i < this.queue.length && !this.done) {
      if (!this.call.write(this.queue[i++])) {
        this.block();
        break;
      }
    }
    this.queue = this.queue.slice(i);
  };

  constructor(
    private readonly call: EventsCall,
    private readonly maxQueued: number,
    /** Called once when this subscriber ends by itself (it fell behind). */
    private readonly onOverflow: (code: number, details: string) => void,
  ) {}

  /** Events waiting for the client. */
  get queued(): number {
    return this.queue.length;
  }

  send(ev: ContainerEventResponse): void {
    if (this.done) return;
    if (!this.blocked) {
      if (!this.call.write(ev)) this.block();
      return;
    }
    if (this.queue.length >= this.maxQueued) {
      this.overflow();
      return;
    }
    this.queue.push(ev);
  }

  end(): void {
    this.stop();
  }

  /** No more writes (the stream ended, or is ending). */
  stop(): void {
    this.done = true;
    this.queue = [];
  }

  private block(): void {
    this.blocked = true;
    this.call.once('drain', this.flush);
  }

  private overflow(): void {
    const details =
      `GetContainerEvents: the client fell behind by more than ${this.maxQueued} events; ` +
      'this stream ends so that it relists (open a new stream to go on)';
    logger.warn('container events client fell behind; ending its stream', { queued: this.queue.length });
    this.stop();
    this.onOverflow(status.RESOURCE_EXHAUSTED, details);
  }
}

/**
 * GetContainerEvents: a server stream that lasts until the client goes away (or we stop). Either is
 * the normal end and counts as OK; a failed write on the call counts with its code, and so does a
 * client that fell behind (RESOURCE_EXHAUSTED, see StreamSubscriber).
 */
export function getContainerEvents(
  deps: Deps,
): StreamHandler<GetEventsRequest__Output, ContainerEventResponse> {
  return (call) => {
    const hub = hubOf(deps);
    const finish = startCall('GetContainerEvents', call.request);
    let ended = false;
    const end = (failure?: { code?: number; message?: string; details?: string }): void => {
      if (ended) return;
      ended = true;
      sub.stop();
      unsubscribe();
      if (!call.cancelled) call.end();
      if (failure) finish(failure.code ?? status.UNKNOWN, failure.details ?? failure.message);
      else finish(status.OK);
    };
    const sub = new StreamSubscriber(call, hub.maxQueued, (code, details) => {
      // grpc-js takes an 'error' on the call as the status to end it with (after what is written).
      call.emit('error', { code, details });
    });
    const unsubscribe = hub.subscribe({ send: (ev) => sub.send(ev), end: () => end() });
    call.on('cancelled', () => end());
    call.on('error', (err: { code?: number; message?: string; details?: string }) => end(err));
    call.on('close', () => end());
    logger.debug('cri stream opened', { method: 'GetContainerEvents' });
  };
}
