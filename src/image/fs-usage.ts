import fs from 'fs/promises';
import path from 'path';

export interface FsUsage {
  bytes: bigint;
  inodes: bigint;
  /** When the walk finished, ns since the epoch. */
  timestamp: bigint;
}

/**
 * Walks a directory tree counting bytes (allocated blocks) and inodes; hard links counted once.
 * Stays on the root's filesystem (like `du -x`): an image store holds the mounted root filesystems
 * of running containers (overlay2's `merged`), which would count every image again per container
 * and multiply the walk's cost.
 */
export async function walkUsage(root: string): Promise<FsUsage> {
  // Numbers, not bigint stats: a bigint stat builds a BigInt per field of every entry, and the
  // layer walks stat every file of every container's writable layer each minute. Sums stay exact to
  // 8 PiB; only a hard link's inode number, which may pass 2^53, is read exactly.
  let bytes = 0;
  let inodes = 0;
  const seen = new Set<string>();
  const stack = [root];
  const rootDev = (await fs.stat(root).catch(() => undefined))?.dev;
  while (stack.length > 0) {
    const dir = stack.pop() as string;
    let entries: string[];
    try {
      entries = await fs.readdir(dir);
    } catch {
      continue;
    }
    for (const name of entries) {
      const p = path.join(dir, name);
      let st;
      try {
        st = await fs.lstat(p);
      } catch {
        continue;
      }
      if (rootDev !== undefined && st.dev !== rootDev) continue;
      const dirEntry = st.isDirectory();
      // A directory's link count is its subdirectories; other files with more than one link are
      // counted once.
      if (!dirEntry && st.nlink > 1) {
        let exact;
        try {
          exact = await fs.lstat(p, { bigint: true });
        } catch {
          continue;
        }
        const key = `${exact.dev}:${exact.ino}`;
        if (seen.has(key)) continue;
        seen.add(key);
      }
      inodes += 1;
      bytes += st.blocks * 512;
      if (dirEntry) stack.push(p);
    }
  }
  return { bytes: BigInt(bytes), inodes: BigInt(inodes), timestamp: BigInt(Date.now()) * 1_000_000n };
}

/**
 * Keeps the last walk of a directory and refreshes it in the background when it is older than
 * maxAgeMs: walking an image store takes long enough that a periodic caller must not wait on it.
 */
export class CachedUsage {
  private last: FsUsage | undefined;
  private running: Promise<FsUsage> | undefined;

  constructor(
    private readonly root: string,
    private readonly maxAgeMs: number,
  ) {}

  async get(): Promise<FsUsage> {
    const fresh =
      this.last && Number(BigInt(Date.now()) * 1_000_000n - this.last.timestamp) / 1e6 < this.maxAgeMs;
    if (this.last && fresh) return this.last;
    const refresh = this.refresh();
    return this.last ?? refresh;
  }

  private refresh(): Promise<FsUsage> {
    if (!this.running) {
      this.running = walkUsage(this.root)
        .then((u) => {
          this.last = u;
          return u;
        })
        .finally(() => {
          this.running = undefined;
        });
    }
    return this.running;
  }
}
