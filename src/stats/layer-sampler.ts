import path from 'path';
import { walkUsage } from '../image/fs-usage';
import type { LayerSample } from '../translate/stats-cri';
import { logger } from '../logger';

/**
 * With nobody asking for stats for this many intervals, the periodic walks stop (until the next
 * ask). The kubelet asks every 10 s, so a gap this long means it stopped.
 */
const IDLE_AFTER_INTERVALS = 1.5;

/**
 * Bytes and inodes of each container's writable layer, walked in the background: a walk costs
 * disk I/O proportional to what the container wrote, far too much to do inside a stats call.
 * One walk at a time, each container at most once per interval (60 s: cAdvisor, which the kubelet
 * took these numbers from before CRI stats, refreshed them about once a minute), and only while
 * someone reads stats: a node nobody asks about does no walking at all (no timer either).
 */
export class LayerSampler {
  private dirs = new Map<string, string>();
  private samples = new Map<string, LayerSample>();
  private queue = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private walking = false;
  private stopped = false;
  private lastAsked = 0;

  constructor(private readonly intervalMs = 60_000) {}

  start(): void {
    this.stopped = false;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.queue.clear();
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
    this.queue.delete(id);
  }

  has(id: string): boolean {
    return this.dirs.has(id);
  }

  /** The last walk of a container's layer; asking keeps the periodic walks going. */
  get(id: string): LayerSample | undefined {
    this.lastAsked = Date.now();
    this.schedule();
    return this.samples.get(id);
  }

  /** How many containers are followed (for leak checks). */
  size(): number {
    return this.dirs.size + this.samples.size;
  }

  private schedule(): void {
    if (this.timer || this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.stopped || Date.now() - this.lastAsked > this.intervalMs * IDLE_AFTER_INTERVALS) return;
      for (const id of this.dirs.keys()) this.enqueue(id);
      this.schedule();
    }, this.intervalMs);
    this.timer.unref();
  }

  private enqueue(id: string): void {
    if (this.stopped) return;
    this.queue.add(id);
    void this.drain();
  }

  private async drain(): Promise<void> {
    if (this.walking) return;
    this.walking = true;
    try {
      while (!this.stopped && this.queue.size > 0) {
        const id = this.queue.values().next().value as string;
        this.queue.delete(id);
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
