/**
 * One writer per log file across processes. Two docker-cri processes on one engine (a second
 * instance by mistake, or test shims side by side) would otherwise both append every line. A lock is a
 * file named after the container holding "<pid> <token>"; a lock whose process is gone (kill -9) is
 * taken over, and the new owner resumes from the file, so nothing is lost or doubled.
 *
 * A lock is only as good as its file, and files under /run go away under a live holder (`dpkg
 * --purge docker-cri` removes /run/docker-cri; so does anyone cleaning up by hand). A holder that did
 * not notice would go on appending while the next process to look took the lock too: every line
 * twice. So the holder puts its locks back (reassert(), run periodically by the log manager), and a
 * process that saw a lock held by a live process and then finds it missing leaves it for one more
 * look, by which time the holder has put it back.
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
  /** Ids whose lock this process holds. */
  private readonly held = new Set<string>();
  /** Per id, the live process last seen holding its lock (see the top). */
  private readonly lastHolder = new Map<string, number>();
  /** The directory as the last full look found it (see reassert). */
  private lastLook?: DirectoryLook;

  constructor(private readonly dir = DEFAULT_LOCK_DIR) {}

  private file(id: string): string {
    return path.join(this.dir, `${id}.lock`);
  }

  private mine(): string {
    return `${process.pid} ${this.token}`;
  }

  async acquire(id: string): Promise<LockResult> {
    if (!this.usable) return { ok: true };
    const seen = this.lastHolder.get(id);
    this.lastHolder.delete(id);
    // Most looks find the lock held by the live process that held it last time (a second docker-cri
    // retries every pump of the engine every few seconds): one read answers them.
    const current = await fsp.readFile(this.file(id), 'utf8').catch(() => undefined);
    if (current === this.mine()) return this.took(id);
    const holder = current ? livePid(current) : undefined;
    if (holder !== undefined) {
      this.lastHolder.set(id, holder);
      return { ok: false, holder };
    }
    if (current === undefined && seen !== undefined && alive(seen)) {
      // Removed under its live holder (see the top), which puts it back at its next look.
      return { ok: false, holder: seen };
    }
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
      if (await this.create(id)) return this.took(id);
      const content = await fsp.readFile(this.file(id), 'utf8').catch(() => '');
      if (content === this.mine()) return this.took(id);
      const pid = content ? livePid(content) : undefined;
      if (pid !== undefined) {
        this.lastHolder.set(id, pid);
        return { ok: false, holder: pid };
      }
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

  /**
   * Puts back the locks this process holds that are gone from the directory. Returns the ids whose
   * lock another process holds now (it took the lock while it was gone, or took it over as stale):
   * their pumps must stop, or every line is written twice.
   */
  async reassert(): Promise<string[]> {
    if (!this.usable || this.held.size === 0) return [];
    // A lock can only be lost by a name in the directory going away or coming back (locks are made
    // by link and never written in place), and either changes the directory's mtime. At 220 pumps,
    // reading every lock every 2 s was most of a resting node's CPU; one stat of the directory is
    // enough while it holds still.
    const now = Date.now();
    const look = await lookAt(this.dir, now);
    if (look && this.lastLook && unchanged(this.lastLook, look) && now - this.lastLook.at < FULL_LOOK_MS)
      return [];
    const lost: string[] = [];
    for (const id of [...this.held]) {
      let content = await fsp.readFile(this.file(id), 'utf8').catch(() => undefined);
      if (content === undefined && this.held.has(id)) {
        await fsp.mkdir(this.dir, { recursive: true }).catch(() => undefined);
        if (await this.create(id).catch(() => false)) {
          logger.warn('log pump lock was removed under its holder; put it back', { id, dir: this.dir });
          continue;
        }
        content = await fsp.readFile(this.file(id), 'utf8').catch(() => '');
      }
      // Released meanwhile (the pump ended), or still ours.
      if (!this.held.has(id) || content === this.mine()) continue;
      this.held.delete(id);
      lost.push(id);
    }
    // Taken before the reads above: whatever changed while they ran shows at the next look.
    this.lastLook = look && look.mtimeMs < look.at - CLOCK_TICK_MS ? look : undefined;
    return lost;
  }

  private took(id: string): LockResult {
    this.held.add(id);
    return { ok: true };
  }

  /**
   * Creates the lock file with its content in one step (a link to a file written beside it): no
   * one ever reads it empty. False when it exists.
   */
  private async create(id: string): Promise<boolean> {
    const tmp = `${this.file(id)}.${process.pid}.${this.token}.tmp`;
    await fsp.writeFile(tmp, this.mine());
    try {
      await fsp.link(tmp, this.file(id));
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      return false;
    } finally {
      await fsp.unlink(tmp).catch(() => undefined);
    }
  }

  async release(id: string): Promise<void> {
    this.held.delete(id);
    if (!this.usable) return;
    const content = await fsp.readFile(this.file(id), 'utf8').catch(() => '');
    if (content === this.mine()) await fsp.unlink(this.file(id)).catch(() => undefined);
  }
}

interface DirectoryLook {
  dev: bigint;
  ino: bigint;
  mtimeNs: bigint;
  mtimeMs: number;
  /** When the stat was taken (Date.now()). */
  at: number;
}

/**
 * File times come from the kernel's coarse clock, one tick behind at most. A directory changed
 * within that of a look may change again with the same mtime, so such a look is not trusted.
 */
const CLOCK_TICK_MS = 1000;
/** Every lock is read at least this often anyway: a backstop for a clock stepped backwards. */
const FULL_LOOK_MS = 60_000;

async function lookAt(dir: string, at: number): Promise<DirectoryLook | undefined> {
  try {
    const st = await fsp.stat(dir, { bigint: true });
    return { dev: st.dev, ino: st.ino, mtimeNs: st.mtimeNs, mtimeMs: Number(st.mtimeMs), at };
  } catch {
    return undefined;
  }
}

const unchanged = (a: DirectoryLook, b: DirectoryLook): boolean =>
  a.dev === b.dev && a.ino === b.ino && a.mtimeNs === b.mtimeNs;

/** The process a lock's content names, if it is a live one. */
function livePid(content: string): number | undefined {
  const pid = Number(content.split(' ')[0]);
  return Number.isInteger(pid) && pid > 0 && alive(pid) ? pid : undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
