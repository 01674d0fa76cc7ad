import type { ContainerIndex, IndexChange, IndexedContainer } from '../docker/container-index';
import type { ContainerStatus } from '../generated/runtime/v1/ContainerStatus';
import type { PodSandboxStatus } from '../generated/runtime/v1/PodSandboxStatus';
import { criState } from '../translate/container-status';
import { sandboxState } from '../translate/sandbox-status';

/**
 * Status answers kept while a container's Docker state stands still. The kubelet asks for the status
 * of every pod it syncs, and of each of its containers, again and again; a status only changes with
 * the container's state (which the index follows from Docker's events) or with an update that calls
 * forget(). Without this, each such call inspected the container.
 */
export class StatusCache<T> {
  private entries = new Map<string, { state: string; status: T }>();
  /** Bumped by every change: an inspect that started before one is not kept. */
  private generation = new Map<string, number>();

  constructor(
    private readonly index: Pick<ContainerIndex, 'on' | 'get' | 'isConnected'>,
    /** Whether an answer agrees with a Docker state (one read from a later state is not kept for it). */
    private readonly agrees: (dockerState: string, status: T) => boolean,
  ) {
    index.on('change', (c: IndexChange) => this.forget(c.id, !c.after));
  }

  forget(id: string, removed = false): void {
    this.entries.delete(id);
    if (removed) this.generation.delete(id);
    else this.generation.set(id, (this.generation.get(id) ?? 0) + 1);
  }

  /** The cached status of `c` in its current index state, or a fresh one from `load`. */
  async get(c: IndexedContainer, load: (id: string) => Promise<T>): Promise<T> {
    // An index cut off from Docker's events does not see changes: neither trust nor keep answers.
    if (!this.index.isConnected()) return load(c.id);
    const hit = this.entries.get(c.id);
    if (hit && hit.state === c.state) return hit.status;
    const gen = this.generation.get(c.id) ?? 0;
    const status = await load(c.id);
    // Kept only when nothing changed meanwhile and the answer agrees with the index's state.
    // A container removed meanwhile (its generation entry went with it) is never kept.
    const current = (this.generation.get(c.id) ?? 0) === gen && this.index.get(c.id) !== undefined;
    if (current && this.agrees(c.state, status)) {
      this.entries.set(c.id, { state: c.state, status });
    }
    return status;
  }

  /** Entries held (for leak checks). */
  size(): number {
    return this.entries.size + this.generation.size;
  }
}

/** ContainerStatus answers, for ContainerStatus and PodSandboxStatus's containers_statuses. */
export class ContainerStatusCache extends StatusCache<ContainerStatus> {
  constructor(index: Pick<ContainerIndex, 'on' | 'get' | 'isConnected'>) {
    super(index, (state, status) => criState(state) === status.state);
  }
}

/** PodSandboxStatus's own status (not its containers' nor its timestamp), per sandbox. */
export class SandboxStatusCache extends StatusCache<PodSandboxStatus> {
  constructor(index: Pick<ContainerIndex, 'on' | 'get' | 'isConnected'>) {
    super(index, (state, status) => sandboxState(state) === status.state);
  }
}
