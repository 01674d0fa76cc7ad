import fs from 'fs';
import path from 'path';
import type { CapabilityArgs, JsonObject } from './types';

/**
 * What docker-cri keeps of one sandbox's CNI attachment. Docker labels cannot be added after a
 * container is created and the ADD runs after the pause container starts, so this lives in a
 * file under the root directory: it outlives restarts of both docker-cri and dockerd.
 */
export interface NetworkRecord {
  version: 1;
  sandboxId: string;
  networkName: string;
  /** The configuration file ADD used and its exact bytes: DEL must use the same plugins. */
  source: string;
  config: string;
  ifName: string;
  args: Array<[string, string]>;
  capabilityArgs: CapabilityArgs;
  /** Absent while ADD runs (a crash then still leaves enough for DEL) and after a failed ADD. */
  result?: JsonObject;
  podIps: string[];
}

const ID_RE = /^[0-9a-f]{12,64}$/;

export class ResultStore {
  constructor(readonly dir: string) {}

  private file(sandboxId: string): string {
    // The id becomes a file name: refuse anything that could step out of the directory.
    if (!ID_RE.test(sandboxId)) throw new Error(`invalid sandbox id "${sandboxId}" for the CNI store`);
    return path.join(this.dir, `${sandboxId}.json`);
  }

  async save(record: NetworkRecord): Promise<void> {
    await fs.promises.mkdir(this.dir, { recursive: true, mode: 0o700 });
    const file = this.file(record.sandboxId);
    const tmp = `${file}.${process.pid}.tmp`;
    const fh = await fs.promises.open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(JSON.stringify(record));
      // The record must reach the disk before we report the pod running: a node crash right after
      // would otherwise lose the address to release.
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.promises.rename(tmp, file);
  }

  async load(sandboxId: string): Promise<NetworkRecord | undefined> {
    let text: string;
    try {
      text = await fs.promises.readFile(this.file(sandboxId), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    const doc = JSON.parse(text) as NetworkRecord;
    if (doc.version !== 1 || doc.sandboxId !== sandboxId) {
      throw new Error(`CNI record ${this.file(sandboxId)} is not one docker-cri wrote`);
    }
    return doc;
  }

  async remove(sandboxId: string): Promise<void> {
    await fs.promises.rm(this.file(sandboxId), { force: true });
  }
}
