import { spawn, execFile, type ChildProcess, type SpawnOptions } from 'child_process';
import fs from 'fs';

/** A long-running process of the cluster, its output in a log file, in a process group of its own. */
export class Daemon {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  /** Told each time the process starts (the cluster records pids for a later run's clean-up). */
  onStart: (() => void) | undefined;

  constructor(
    readonly name: string,
    readonly logFile: string,
    private readonly cmd: string,
    private readonly args: readonly string[],
    private readonly opts: SpawnOptions = {},
  ) {}

  start(): void {
    const log = fs.openSync(this.logFile, 'a');
    // Its own process group: a stop reaches whatever it started (dockerd's containerd, shims).
    const child = spawn(this.cmd, [...this.args], {
      ...this.opts,
      stdio: ['ignore', log, log],
      detached: true,
    });
    fs.closeSync(log);
    this.child = child;
    this.exited = new Promise((resolve) => {
      child.once('exit', () => resolve());
      // A binary that cannot be started never emits 'exit'.
      child.once('error', (err) => {
        fs.appendFileSync(this.logFile, `cannot start ${this.cmd}: ${err.message}\n`);
        resolve();
      });
    });
    this.onStart?.();
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    const c = this.child;
    return c !== undefined && c.pid !== undefined && c.exitCode === null && c.signalCode === null;
  }

  /** SIGTERM, then SIGKILL to the group after `graceMs`; resolves once the process is gone. */
  async stop(graceMs = 15_000): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, graceMs);
    await this.exited;
    clearTimeout(timer);
    this.child = undefined;
  }

  /** The last lines of its log, for a failure message. */
  tail(lines = 20): string {
    try {
      return fs.readFileSync(this.logFile, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end (bounded by `timeoutMs`), never throwing for a non-zero exit. */
export function run(
  cmd: string,
  args: readonly string[],
  opts: { input?: string | Buffer; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = execFile(
      cmd,
      [...args],
      { timeout: opts.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024, env: opts.env ?? process.env },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        const killed =
          err && (err as { killed?: boolean }).killed
            ? `\n(killed after ${opts.timeoutMs ?? 60_000} ms)`
            : '';
        resolve({ code, stdout: String(stdout), stderr: String(stderr) + killed });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}

/** Like run, but a non-zero exit is an error carrying the output. */
export async function must(
  cmd: string,
  args: readonly string[],
  opts: Parameters<typeof run>[2] = {},
): Promise<string> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0)
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
  return r.stdout;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Thrown by a waitFor check when waiting longer cannot help (the process it waits for died). */
export class GaveUp extends Error {}

/** Polls `check` until it returns a value (not undefined) or `timeoutMs` passes; then throws with `what`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 120_000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      if (err instanceof GaveUp) throw err;
      last = err;
    }
    if (Date.now() > until) {
      throw new Error(
        `timed out waiting for ${what}${last ? `: ${(last as Error).message ?? String(last)}` : ''}`,
      );
    }
    await sleep(500);
  }
}

/**
 * Waits until a daemon serves (`ready` says so), and gives up at once with its last output when it
 * exits first: a daemon that died will not come up by waiting.
 */
export function awaitDaemon(
  what: string,
  daemon: Daemon,
  ready: () => Promise<boolean>,
  timeoutMs?: number,
): Promise<true> {
  return waitFor(
    what,
    async () => {
      if (!daemon.running) throw new GaveUp(`${daemon.name} exited:\n${daemon.tail()}`);
      return (await ready()) ? true : undefined;
    },
    timeoutMs,
  );
}
