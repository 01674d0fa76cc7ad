import { randomBytes } from 'crypto';
import fs from 'fs';
import path from 'path';
import type { LinuxContainerResources__Output } from '../generated/runtime/v1/LinuxContainerResources';

/** What UpdatePodSandboxResources last recorded for a pod. */
export interface PodResources {
  overhead: LinuxContainerResources__Output | null;
  resources: LinuxContainerResources__Output | null;
  /** Nanoseconds since the epoch, as a decimal string. */
  updatedAt: string;
}

/**
 * The pod's resources from UpdatePodSandboxResources, one file per sandbox under the root
 * directory. Docker cannot relabel an existing container, so this is the one piece of pod state
 * docker-cri keeps itself: written atomically, removed with the sandbox, and a file whose sandbox
 * is gone is never read (lookups go through a live sandbox id).
 */
export class PodResourcesStore {
  private readonly dir: string;

  constructor(rootDirectory: string) {
    this.dir = path.join(rootDirectory, 'pod-resources');
  }

  private file(sandboxId: string): string {
    // Ids come resolved from Docker; refuse anything else rather than build a path from it.
    if (!/^[0-9a-f]{64}$/.test(sandboxId)) throw new Error(`not a full sandbox id: ${sandboxId}`);
    return path.join(this.dir, `${sandboxId}.json`);
  }

  async get(sandboxId: string): Promise<PodResources | undefined> {
    try {
      return JSON.parse(await fs.promises.readFile(this.file(sandboxId), 'utf8')) as PodResources;
    } catch {
      return undefined;
    }
  }

  async set(sandboxId: string, value: PodResources): Promise<void> {
    await fs.promises.mkdir(this.dir, { recursive: true, mode: 0o700 });
    const file = this.file(sandboxId);
    // Unique per write: two writes for one pod never share a temp file.
    const tmp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
    await fs.promises.writeFile(tmp, JSON.stringify(value), { mode: 0o600 });
    await fs.promises.rename(tmp, file);
  }

  async remove(sandboxId: string): Promise<void> {
    await fs.promises.rm(this.file(sandboxId), { force: true });
  }

  /**
   * Removes the records of sandboxes that no longer exist (removed while docker-cri was down, or
   * by someone else): `exists` is asked for every recorded id.
   */
  async prune(exists: (sandboxId: string) => Promise<boolean>): Promise<void> {
    let names: string[];
    try {
      names = await fs.promises.readdir(this.dir);
    } catch {
      return;
    }
    for (const name of names) {
      const m = /^([0-9a-f]{64})\.json$/.exec(name);
      if (m && !(await exists(m[1]))) await this.remove(m[1]);
    }
  }
}
