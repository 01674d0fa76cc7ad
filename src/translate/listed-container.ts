/**
 * What translation reads of a container index entry (docker/container-index.ts's IndexedContainer
 * has these fields and more): declared here so translation depends on no engine module.
 */
export interface ListedContainer {
  id: string;
  /** Docker name without the leading slash. */
  name: string;
  labels: Record<string, string>;
  /** Docker state: created, running, paused, restarting, removing, exited, dead. */
  state: string;
  /** Creation time, seconds since the epoch. */
  created: number;
  image: string;
  imageId: string;
}
