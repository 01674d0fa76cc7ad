import type { ContainerIndex, IndexChange, IndexedContainer } from '../docker/container-index';
import type { ContainerStatus } from '../generated/runtime/v1/ContainerStatus';
import { criState } from '../translate/container-status';

/**
 * ContainerStatus answers kept while a container's state stands still, for PodSandboxStatus's
 * containers_statuses: the kubelet asks for every pod's status again and again, and a status only
 * changes with the container's state (which the index follows from Docker's events) or with an
 * UpdateContainerResources (which calls forget). Without this, each PodSandboxStatus inspected
 * every container of its pod.
 */
export class ContainerStatusCache {
  private entries = new Map<string, { state: string; status: ContainerStatus }>();
  /** Bumped by every change: an inspect that started before one is not kept. */
  private generation = new Map<string, number>();

  constructor(private readonly index: Pick<ContainerIndex, 'on' | 'get'>) {
    index.on('change', (c: IndexChange) => this.forget(c.id, !c.after));
  }

  forget(id: string, removed = false): void {
    this.entries.delete(id);
    if (removed) this.generation.delete(id);
    else this.generation.set(id, (this.generation.get(id) ?? 0) + 1);
  }

  /** The cached status of `c` in its current index state, or a fresh one from `load`. */
  async get(c: IndexedContainer, load: (id: string) => Promise<ContainerStatus>): Promise<ContainerStatus> {
    const hit = this.entries.get(c.id);
    if (hit && hit.state === c.state) return hit.status;
    const gen = this.generation.get(c.id) ?? 0;
    const status = await load(c.id);
    // Kept only when nothing changed meanwhile and the answer agrees with the index's state.
    // A container removed meanwhile (its generation entry went with it) is never kept.
    const current = (this.generation.get(c.id) ?? 0) === gen && this.index.get(c.id) !== undefined;
    if (current && criState(c.state) === status.state) {
      this.entries.set(c.id, { state: c.state, status });
    }
    return status;
  }

  /** Entries held (for leak checks). */
  size(): number {
    return this.entries.size + this.generation.size;
  }
}
