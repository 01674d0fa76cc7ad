import fs from 'fs';
import fsp from 'fs/promises';
import path from 'path';
import { setImmediate as yieldToLoop } from 'timers/promises';

export interface FsUsage {
  bytes: bigint;
  inodes: bigint;
  /** When the walk finished, ns since the epoch. */
  timestamp: bigint;
}

/** How long a walk holds the event loop before other work gets a turn. */
const SLICE_MS = 2;

/**
 * A synchronous call slower than this means the disk is not answering from memory: the rest of the
 * walk, and every walk for SLOW_BACKOFF_MS, goes through the thread pool instead.
 */
const SLOW_CALL_MS = 20;
const SLOW_BACKOFF_MS = 10 * 60_000;
let slowUntil = 0;

/** Forgets a slow disk seen earlier (tests). */
export function forgetSlowDisk(): void {
  slowUntil = 0;
}

export interface WalkOptions {
  /** Synchronous calls in time slices (the default while the disk answers fast), or the thread pool. */
  sync?: boolean;
  /** What counts as a slow synchronous call (tests). */
  slowCallMs?: number;
}

/**
 * Walks a directory tree counting bytes (allocated blocks) and inodes; hard links counted once.
 * Stays on the root's filesystem (like `du -x`): an image store holds the mounted root filesystems
 * of running containers (overlay2's `merged`), which would count every image again per container
 * and multiply the walk's cost.
 *
 * The calls are synchronous, in slices of SLICE_MS between which the event loop runs: the store's
 * entries are in the kernel's caches, where an lstat takes microseconds and a promise round trip
 * through the thread pool costs ten times that in CPU (a 16,000-entry store: 105 ms against 750-980
 * ms of CPU; at 110 pods that walk was a 14% spike of a core every 5 minutes under a real
 * kubelet). A disk that answers slowly (a call over SLOW_CALL_MS) switches walks to the thread pool
 * for a while, so that a struggling disk stalls only the walk. Numbers, not bigint stats: sums stay
 * exact to 8 PiB, and only a hard link's inode number, which may pass 2^53, is read as a bigint.
 */
export async function walkUsage(root: string, opts: WalkOptions = {}): Promise<FsUsage> {
  const slowCallMs = opts.slowCallMs ?? SLOW_CALL_MS;
  let sync = opts.sync ?? Date.now() >= slowUntil;
  let sliceStart = performance.now();
  /** Runs a synchronous call, and leaves synchronous calls when it was slow. */
  const timed = <T>(call: () => T): T => {
    const t0 = performance.now();
    try {
      return call();
    } finally {
      if (performance.now() - t0 > slowCallMs) {
        sync = false;
        slowUntil = Date.now() + SLOW_BACKOFF_MS;
      }
    }
  };
  const lstat = async (p: string): Promise<fs.Stats | undefined> => {
    try {
      return sync ? timed(() => fs.lstatSync(p, { throwIfNoEntry: false })) : await fsp.lstat(p);
    } catch {
      return undefined;
    }
  };
  const inodeKey = async (p: string): Promise<string | undefined> => {
    try {
      const st = sync
        ? timed(() => fs.lstatSync(p, { bigint: true, throwIfNoEntry: false }))
        : await fsp.lstat(p, { bigint: true });
      return st ? `${st.dev}:${st.ino}` : undefined;
    } catch {
      return undefined;
    }
  };

  let bytes = 0;
  let inodes = 0;
  const seen = new Set<string>();
  const stack = [root];
  const rootDev = (await fsp.stat(root).catch(() => undefined))?.dev;
  while (stack.length > 0) {
    const dir = stack.pop() as string;
    let entries: string[];
    try {
      entries = sync ? timed(() => fs.readdirSync(dir)) : await fsp.readdir(dir);
    } catch {
      continue;
    }
    for (const name of entries) {
      if (sync && performance.now() - sliceStart >= SLICE_MS) {
        await yieldToLoop();
        sliceStart = performance.now();
      }
      const p = path.join(dir, name);
      const st = await lstat(p);
      if (!st) continue;
      if (rootDev !== undefined && st.dev !== rootDev) continue;
      const dirEntry = st.isDirectory();
      // A directory's link count is its subdirectories; other files with more than one link are
      // counted once.
      if (!dirEntry && st.nlink > 1) {
        const key = await inodeKey(p);
        if (key === undefined || seen.has(key)) continue;
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
