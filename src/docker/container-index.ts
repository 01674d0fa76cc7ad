import { EventEmitter } from 'events';
import type { ContainerInfo, ContainerInspectInfo } from 'dockerode';
import type { Readable } from 'stream';
import type { Engine } from './engine';
import { logger } from '../logger';
import { LABEL_SANDBOX_ID, LABEL_TYPE } from '../translate/labels';
import type { ListedContainer } from '../translate/listed-container';
import { CriError } from '../grpc/status-error';
import { status } from '../grpc/status-codes';
import { isNotFound } from './errors';

/**
 * What the index keeps of each Kubernetes container (sandboxes and workload containers alike): the
 * entry translation reads, declared with the pure translation code so that it needs no engine module.
 */
export type IndexedContainer = ListedContainer;

export type IndexChange = { id: string; before?: IndexedContainer; after?: IndexedContainer; action: string };

const K8S_FILTER = { label: [LABEL_TYPE] };

/**
 * What the index asks of Docker: the raw engine, never the IndexedEngine (engine-index.ts), which
 * writes back into the index.
 */
export type IndexSource = Pick<Engine, 'listContainers' | 'inspectContainer' | 'containerEvents'>;

/** Internal periods of the index (AppTuning passes them; tests shorten them). */
export interface IndexTuning {
  /**
   * How often the index's states are compared with one list of Docker's (default 10 s; 0: never).
   * This is what bounds how long an entry can stay wrong after a lost event.
   */
  reconcileMs?: number;
  /** The first retry of a failed re-read (default 500 ms); each next one waits twice as long... */
  retryBaseMs?: number;
  /** ...up to this (default 8 s)... */
  retryMaxMs?: number;
  /** ...for at most this many retries (default 5); the reconciliation is the backstop after. */
  retries?: number;
}

const DEFAULT_RECONCILE_MS = 10_000;
const DEFAULT_RETRY_BASE_MS = 500;
const DEFAULT_RETRY_MAX_MS = 8_000;
const DEFAULT_RETRIES = 5;
/** Re-reads a reconciliation runs at once: a badly drifted index must not flood dockerd. */
const RECONCILE_PARALLEL = 8;

/**
 * Events after which nothing the index keeps has changed. A stop sends kill, die and stop: the
 * state changes at die (Docker has marked the container stopped before it sends die), and an
 * inspect per event would queue behind the container's lock while the stop runs. An oom is
 * followed by its die.
 */
const STATE_KEPT = new Set([
  'kill',
  'stop',
  'oom',
  'top',
  'attach',
  'detach',
  'resize',
  'update',
  'commit',
  'copy',
  'export',
  'archive-path',
  'extract-to-dir',
]);

function fromListEntry(c: ContainerInfo): IndexedContainer {
  return {
    id: c.Id,
    name: (c.Names?.[0] ?? '').replace(/^\//, ''),
    labels: c.Labels ?? {},
    state: c.State,
    created: c.Created,
    image: c.Image,
    imageId: c.ImageID,
  };
}

/**
 * The same entry from an inspect of `asked` (a full id or a prefix). Inspect also resolves names,
 * and sees every container: an answer for another id, or for a container without our type label, is
 * no entry.
 */
function fromInspect(info: ContainerInspectInfo, asked: string): IndexedContainer | undefined {
  const labels = info.Config?.Labels ?? {};
  if (!info.Id.startsWith(asked) || !(LABEL_TYPE in labels)) return undefined;
  return {
    id: info.Id,
    name: info.Name.replace(/^\//, ''),
    labels,
    state: info.State.Status,
    created: Math.floor(Date.parse(info.Created) / 1000),
    image: info.Config.Image,
    imageId: info.Image,
  };
}

/**
 * An in-memory view of every container carrying dockershim-style labels, so that List calls never
 * wait on Docker. Built from a full list at start and after every reconnect of the events stream;
 * each event re-reads the one container it names (events say what changed, an inspect says what
 * is). An inspect, not a list filtered by id: it reads the container itself, where Docker's list
 * reads a copy that is written after the event is sent (a list made on `die` may still say running),
 * and costs dockerd one lookup instead of a walk of every container.
 * Emits 'change' (IndexChange) and 'resync'.
 *
 * Refreshes, events and resyncs all write through one versioned apply: every read of Docker takes a
 * version when it begins, every entry remembers the version that wrote it, and an answer from a
 * read that began before the entry's last write is dropped. So a slow resync list never takes an
 * entry back to an older state, never brings back a container removed meanwhile (removals leave a
 * version behind while older reads are still out), and a container that merely shows up again in a
 * resync is no change at all (no false CREATED/STARTED event).
 *
 * Nothing lost stays lost: Docker's event fan-out drops events for a subscriber that falls behind,
 * and a re-read can fail. A failed re-read is retried with a doubling backoff (IndexTuning), and
 * every `reconcileMs` one list of ids and states is compared with the index; every entry that
 * differs is re-read (an inspect, through the same versioned apply, so the list's own staleness
 * never writes anything). An entry is thus wrong for at most about one period.
 */
export class ContainerIndex extends EventEmitter {
  private entries = new Map<string, IndexedContainer>();
  /** Per sandbox id, the ids of the entries whose sandbox label names it (kept by apply()). */
  private bySandbox = new Map<string, Set<string>>();
  /** Per present id, the version of its last write. */
  private versions = new Map<string, number>();
  /** Per removed id, the version of its removal, kept while a read that began before it is out. */
  private removed = new Map<string, number>();
  /** The versions of the reads of Docker under way (each read has its own). */
  private reads = new Set<number>();
  private clock = 0;
  /** Per id, the newest refresh under way: an older caller answers with its result. */
  private pending = new Map<string, Promise<IndexedContainer | undefined>>();
  private events: Readable | undefined;
  private stopped = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private connected = false;
  private readyPromise: Promise<void> | undefined;
  /** Per id whose last re-read failed: the retries made, the version of the read that failed, the timer. */
  private retries = new Map<string, { attempt: number; failed: number; timer?: NodeJS.Timeout }>();
  private reconcileTimer: NodeJS.Timeout | undefined;
  private reconciling = false;
  private readonly tuning: Required<IndexTuning>;

  constructor(
    private readonly engine: IndexSource,
    tuning: IndexTuning = {},
  ) {
    super();
    this.setMaxListeners(100);
    this.tuning = {
      reconcileMs: tuning.reconcileMs ?? DEFAULT_RECONCILE_MS,
      retryBaseMs: tuning.retryBaseMs ?? DEFAULT_RETRY_BASE_MS,
      retryMaxMs: tuning.retryMaxMs ?? DEFAULT_RETRY_MAX_MS,
      retries: tuning.retries ?? DEFAULT_RETRIES,
    };
  }

  /** Starts following the engine; resolves after the first full list (or first failure). */
  start(): Promise<void> {
    if (!this.readyPromise) this.readyPromise = this.connect();
    return this.readyPromise;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.reconcileTimer);
    for (const r of this.retries.values()) clearTimeout(r.timer);
    this.retries.clear();
    this.events?.destroy();
  }

  /** True while the events stream is open and the index is current. */
  isConnected(): boolean {
    return this.connected;
  }

  /**
   * True once started while the index is not following the engine (its events stream is down, or
   * its first sync has not succeeded): what it holds may be stale. (Never started: it is filled
   * only through refresh() and not cut off from anything.)
   */
  isCutOff(): boolean {
    return this.readyPromise !== undefined && !this.connected && !this.stopped;
  }

  list(): IndexedContainer[] {
    return [...this.entries.values()];
  }

  get(id: string): IndexedContainer | undefined {
    return this.entries.get(id);
  }

  /**
   * The entries whose sandbox label is `sandboxId` (workload containers, not the sandbox itself):
   * PodSandboxStatus asks for them on every call, and a walk of every entry per call adds up at a
   * node's hundreds of containers.
   */
  membersOf(sandboxId: string): IndexedContainer[] {
    const ids = this.bySandbox.get(sandboxId);
    if (!ids) return [];
    const out: IndexedContainer[] = [];
    for (const id of ids) {
      const c = this.entries.get(id);
      if (c) out.push(c);
    }
    return out;
  }

  private unlink(c: IndexedContainer | undefined): void {
    const sid = c?.labels[LABEL_SANDBOX_ID];
    if (!c || !sid) return;
    const ids = this.bySandbox.get(sid);
    ids?.delete(c.id);
    if (ids?.size === 0) this.bySandbox.delete(sid);
  }

  private link(c: IndexedContainer): void {
    const sid = c.labels[LABEL_SANDBOX_ID];
    if (!sid) return;
    let ids = this.bySandbox.get(sid);
    if (!ids) this.bySandbox.set(sid, (ids = new Set()));
    ids.add(c.id);
  }

  /**
   * A full id for a full id or an unambiguous prefix; undefined when nothing matches. An ambiguous
   * prefix is INVALID_ARGUMENT naming the prefix.
   */
  resolve(idOrPrefix: string, what: string): string | undefined {
    if (this.entries.has(idOrPrefix)) return idOrPrefix;
    if (!/^[0-9a-f]{1,64}$/.test(idOrPrefix)) return undefined;
    let found: string | undefined;
    for (const id of this.entries.keys()) {
      if (id.startsWith(idOrPrefix)) {
        if (found) {
          throw new CriError(status.INVALID_ARGUMENT, `${what} id prefix "${idOrPrefix}" is ambiguous`);
        }
        found = id;
      }
    }
    return found;
  }

  /** Re-reads one container now: mutating handlers call this so that a List right after sees it. */
  refresh(id: string, action = 'refresh'): Promise<IndexedContainer | undefined> {
    const version = this.beginRead();
    const run = async (): Promise<IndexedContainer | undefined> => {
      let found: IndexedContainer | undefined;
      try {
        const info = await this.engine.inspectContainer(id).catch((err: unknown) => {
          if (isNotFound(err)) return undefined;
          throw err;
        });
        found = info ? fromInspect(info, id) : undefined;
      } catch (err) {
        logger.warn('index refresh failed', { id, error: (err as Error).message });
        this.endRead(version);
        this.retryLater(id, action, version);
        return this.entries.get(id);
      }
      const key = found?.id ?? id;
      this.apply(key, found, version, action);
      this.endRead(version);
      this.readSucceeded(id, version);
      // A later refresh of this id is under way: its answer is the current one.
      const newer = this.pending.get(id);
      return newer && newer !== mine ? newer : this.entries.get(key);
    };
    const mine: Promise<IndexedContainer | undefined> = run().finally(() => {
      if (this.pending.get(id) === mine) this.pending.delete(id);
    });
    this.pending.set(id, mine);
    return mine;
  }

  /**
   * Records that a stop of ours just succeeded: Docker answers a stop only once the container is
   * marked exited, so no read is needed to know it (StopPodSandbox stops every container of the
   * pod). Written newer than any read still out, like forget(); an entry not held is left to its
   * events.
   */
  markExited(id: string): void {
    const before = this.entries.get(id);
    if (before && before.state !== 'exited')
      this.apply(id, { ...before, state: 'exited' }, ++this.clock, 'stop');
  }

  /** Drops an entry at once (after a successful remove, or its destroy event), newer than any read out. */
  forget(id: string): void {
    this.readSucceeded(id, Infinity);
    this.apply(id, undefined, ++this.clock, 'destroy');
  }

  /**
   * A re-read of `id` that began at `version` failed: another one in a while, each wait twice the
   * last (capped), a bounded number of times; past that, the reconciliation re-reads it.
   */
  private retryLater(id: string, action: string, version: number): void {
    if (this.stopped) return;
    const r = this.retries.get(id) ?? { attempt: 0, failed: version };
    r.failed = Math.max(r.failed, version);
    if (r.timer) return; // one is already due
    if (r.attempt >= this.tuning.retries) {
      this.retries.delete(id);
      logger.warn('index re-read keeps failing; left to the reconciliation', { id, attempts: r.attempt });
      return;
    }
    const wait = Math.min(this.tuning.retryBaseMs * 2 ** r.attempt, this.tuning.retryMaxMs);
    r.attempt++;
    r.timer = setTimeout(() => {
      r.timer = undefined;
      void this.refresh(id, action);
    }, wait);
    // Never what keeps the process up: stop() clears it, and a test's world may just be dropped.
    r.timer.unref();
    this.retries.set(id, r);
  }

  /**
   * A read of `id` that began at `version` has its answer: retries for a failure that happened
   * before it began are no longer needed (one that failed later, after a newer change, still is).
   */
  private readSucceeded(id: string, version: number): void {
    const r = this.retries.get(id);
    if (!r || r.failed > version) return;
    clearTimeout(r.timer);
    this.retries.delete(id);
  }

  /** Compares one list of Docker's with the index and re-reads every entry that differs. */
  async reconcile(): Promise<void> {
    if (this.reconciling || !this.connected || this.stopped) return;
    this.reconciling = true;
    try {
      const list = await this.engine.listContainers(K8S_FILTER);
      const listed = new Map(list.map((c) => [c.Id, c.State]));
      const differ: string[] = [];
      for (const [id, state] of listed) if (this.entries.get(id)?.state !== state) differ.push(id);
      for (const id of this.entries.keys()) if (!listed.has(id)) differ.push(id);
      // A re-read under way answers for itself; the list may be older than it.
      const reread = differ.filter((id) => !this.pending.has(id));
      if (reread.length === 0) return;
      logger.info('container index differs from docker; re-reading', { containers: reread.length });
      for (let i = 0; i < reread.length && !this.stopped; i += RECONCILE_PARALLEL) {
        await Promise.all(reread.slice(i, i + RECONCILE_PARALLEL).map((id) => this.refresh(id, 'reconcile')));
      }
    } catch (err) {
      logger.warn('container index reconciliation failed', { error: (err as Error).message });
    } finally {
      this.reconciling = false;
    }
  }

  private scheduleReconcile(): void {
    if (this.stopped || this.reconcileTimer || this.tuning.reconcileMs <= 0) return;
    this.reconcileTimer = setTimeout(() => {
      this.reconcileTimer = undefined;
      void this.reconcile().finally(() => this.scheduleReconcile());
    }, this.tuning.reconcileMs);
    this.reconcileTimer.unref();
  }

  /**
   * The one way entries change: `after` (undefined: gone) as a read that began at `version` saw it.
   * An answer older than the entry's last write is dropped. Emits 'change' when the state changed.
   */
  private apply(id: string, after: IndexedContainer | undefined, version: number, action: string): void {
    const last = this.versions.get(id) ?? this.removed.get(id);
    if (last !== undefined && last > version) return;
    const before = this.entries.get(id);
    this.unlink(before);
    if (after) {
      this.entries.set(id, after);
      this.link(after);
      this.versions.set(id, version);
      this.removed.delete(id);
    } else {
      this.entries.delete(id);
      this.versions.delete(id);
      this.removed.set(id, version);
      this.pruneRemoved();
    }
    if (before?.state !== after?.state || !before !== !after) {
      this.emit('change', { id, before, after, action } satisfies IndexChange);
    }
  }

  private beginRead(): number {
    const version = ++this.clock;
    this.reads.add(version);
    return version;
  }

  private endRead(version: number): void {
    this.reads.delete(version);
    this.pruneRemoved();
  }

  /** Forgets the versions of removed ids once no read that began before their removal is out. */
  private pruneRemoved(): void {
    let oldest = Infinity;
    for (const v of this.reads) oldest = Math.min(oldest, v);
    for (const [id, v] of this.removed) if (v < oldest) this.removed.delete(id);
  }

  private async resync(): Promise<void> {
    const version = this.beginRead();
    try {
      const list = await this.engine.listContainers(K8S_FILTER);
      const next = new Map(list.map((c) => [c.Id, fromListEntry(c)]));
      for (const id of [...this.entries.keys()]) {
        if (!next.has(id)) this.apply(id, undefined, version, 'destroy');
      }
      for (const [id, after] of next) this.apply(id, after, version, 'resync');
    } finally {
      this.endRead(version);
    }
    this.emit('resync');
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    try {
      // Subscribe first, then list: an event between the two is then never missed.
      const stream = await this.engine.containerEvents();
      this.events = stream;
      this.follow(stream);
      await this.resync();
      this.connected = true;
      logger.info('container index synced', { containers: this.entries.size });
      this.scheduleReconcile();
    } catch (err) {
      this.connected = false;
      logger.warn('docker events unavailable; retrying', { error: (err as Error).message });
      this.events?.destroy();
      this.scheduleReconnect();
    }
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.reconnectTimer) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.connect();
    }, 1000);
  }

  private follow(stream: Readable): void {
    let buffered = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        this.onEvent(line);
      }
    });
    const lost = (): void => {
      if (this.events !== stream) return;
      this.events = undefined;
      this.connected = false;
      if (!this.stopped) {
        logger.warn('docker events stream ended; reconnecting');
        this.scheduleReconnect();
      }
    };
    stream.once('end', lost);
    stream.once('error', lost);
    stream.once('close', lost);
  }

  private onEvent(line: string): void {
    if (!line.trim()) return;
    let ev: { id?: string; Action?: string; Actor?: { ID?: string; Attributes?: Record<string, string> } };
    try {
      ev = JSON.parse(line);
    } catch {
      return;
    }
    const id = ev.Actor?.ID ?? ev.id;
    const action = ev.Action ?? '';
    if (!id) return;
    // Only Kubernetes containers: their create event already carries our type label.
    if (!this.entries.has(id) && !ev.Actor?.Attributes?.[LABEL_TYPE]) return;
    if (action.startsWith('exec_') || action.startsWith('health_status') || STATE_KEPT.has(action)) return;
    if (action === 'destroy') {
      // Newer than any read still out: a refresh or resync under way cannot bring it back.
      this.forget(id);
      return;
    }
    void this.refresh(id, action);
  }
}
