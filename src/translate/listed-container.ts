/**
 * A container index entry (docker/container-index.ts keeps one per Kubernetes container under the
 * name IndexedContainer): declared here so translation depends on no engine module.
 */
export interface ListedContainer {
  id: string;
  /** Docker name without the leading slash. */
  name: string;
  labels: Record<string, string>;
  /** Docker state: created, running, paused, restarting, removing, exited, dead. */
  state: string;
  /** Creation time, seconds since the epoch (Docker's list gives no finer). */
  created: number;
  image: string;
  imageId: string;
}
