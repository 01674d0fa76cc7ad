/**
 * One writer per log file across processes. Two docker-cri processes on one engine (a second
 * instance by mistake, or test shims side by side) would otherwise both append every line. A lock is a
 * file named after the container holding "<pid> <token>"; a lock whose process is gone (kill -9) is
 * taken over, and the new owner resumes from the file, so nothing is lost or doubled.
 */
import crypto from 'crypto';
import fsp from 'fs/promises';
import path from 'path';
import { logger } from '../logger';

/** Under /run: cleared at boot, like the processes the locks name. */
export const DEFAULT_LOCK_DIR = '/run/docker-cri/log-pumps';

export type LockResult = { ok: true } | { ok: false; holder: number };

export class PumpLocks {
  private readonly token = crypto.randomBytes(8).toString('hex');
  private usable = true;

  constructor(private readonly dir = DEFAULT_LOCK_DIR) {}

  private file(id: string): string {
    return path.join(this.dir, `${id}.lock`);
  }

  private mine(): string {
    return `${process.pid} ${this.token}`;
  }

  async acquire(id: string): Promise<LockResult> {
    if (!this.usable) return { ok: true };
    try {
      await fsp.mkdir(this.dir, { recursive: true });
    } catch (err) {
      // Without a place for locks we still pump: one shim per engine is the normal case.
      this.usable = false;
      logger.warn('log pump locks unavailable; assuming this is the only docker-cri on the engine', {
        dir: this.dir,
        error: (err as Error).message,
      });
      return { ok: true };
    }
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await fsp.writeFile(this.file(id), this.mine(), { flag: 'wx' });
        return { ok: true };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const content = await fsp.readFile(this.file(id), 'utf8').catch(() => '');
      if (content === this.mine()) return { ok: true };
      const pid = Number(content.split(' ')[0]);
      if (content && Number.isInteger(pid) && pid > 0 && alive(pid)) return { ok: false, holder: pid };
      if (!content && attempt === 0) {
        // Possibly being written by its creator right now: look again before calling it stale.
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      // Stale (its process is gone) or half-written by a process that died: take it over.
      await fsp.unlink(this.file(id)).catch(() => undefined);
    }
    return { ok: false, holder: 0 };
  }

  async release(id: string): Promise<void> {
    if (!this.usable) return;
    const content = await fsp.readFile(this.file(id), 'utf8').catch(() => '');
    if (content === this.mine()) await fsp.unlink(this.file(id)).catch(() => undefined);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
