import path from 'path';
import { walkUsage } from '../image/fs-usage';
import type { LayerSample } from '../translate/stats-cri';
import { logger } from '../logger';

/**
 * Bytes and inodes of each container's writable layer, walked in the background: a walk costs
 * disk I/O proportional to what the container wrote, far too much to do inside a stats call.
 * One walk at a time, each container at most once per interval.
 */
export class LayerSampler {
  private dirs = new Map<string, string>();
  private samples = new Map<string, LayerSample>();
  private queue: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private walking = false;
  private stopped = false;

  constructor(private readonly intervalMs = 10_000) {}

  start(): void {
    this.stopped = false;
    this.timer = setInterval(() => this.enqueueAll(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    this.queue = [];
  }

  /** Starts sampling a container's upper directory; the first walk is queued at once. */
  track(id: string, upperDir: string): void {
    if (this.dirs.get(id) === upperDir) return;
    this.dirs.set(id, upperDir);
    this.enqueue(id);
  }

  forget(id: string): void {
    this.dirs.delete(id);
    this.samples.delete(id);
  }

  has(id: string): boolean {
    return this.dirs.has(id);
  }

  get(id: string): LayerSample | undefined {
    return this.samples.get(id);
  }

  /** How many containers are followed (for leak checks). */
  size(): number {
    return this.dirs.size + this.samples.size;
  }

  private enqueueAll(): void {
    for (const id of this.dirs.keys()) this.enqueue(id);
  }

  private enqueue(id: string): void {
    if (this.stopped || this.queue.includes(id)) return;
    this.queue.push(id);
    void this.drain();
  }

  private async drain(): Promise<void> {
    if (this.walking) return;
    this.walking = true;
    try {
      while (!this.stopped && this.queue.length > 0) {
        const id = this.queue.shift() as string;
        const dir = this.dirs.get(id);
        if (!dir) continue;
        try {
          const u = await walkUsage(dir);
          // Forgotten (removed) while walking: keep nothing of it.
          if (this.dirs.get(id) !== dir) continue;
          this.samples.set(id, {
            atNs: u.timestamp,
            // overlay2 and friends keep <root>/<driver>/<layer>/diff: the store is the filesystem.
            mountpoint: path.dirname(path.dirname(dir)),
            bytes: u.bytes,
            inodes: u.inodes,
          });
        } catch (err) {
          logger.debug('writable layer walk failed', { id, error: (err as Error).message });
        }
      }
    } finally {
      this.walking = false;
    }
  }
}
