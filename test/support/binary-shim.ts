import { spawn, type ChildProcess } from 'child_process';
import fs from 'fs';
import path from 'path';
import { CriClient } from './cri-client';

export const MAIN = path.resolve(__dirname, '../../dist/src/main.js');

/** The built docker-cri binary as a child process, for tests that kill or signal it. */
export class BinaryShim {
  child: ChildProcess | undefined;
  client: CriClient | undefined;
  output = '';

  constructor(
    readonly socket: string,
    readonly rootDir: string,
    readonly extraArgs: string[] = [],
  ) {}

  async start(): Promise<CriClient> {
    // Never two at once: a test that failed half-way may have left the last one running.
    await this.signal('SIGKILL');
    this.output = '';
    const child = spawn(
      process.execPath,
      [
        MAIN,
        '--container-runtime-endpoint',
        `unix://${this.socket}`,
        '--root-directory',
        this.rootDir,
        '--log-level',
        'info',
        ...this.extraArgs,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout!.on('data', (d) => (this.output += d));
    child.stderr!.on('data', (d) => (this.output += d));
    this.child = child;
    const until = Date.now() + 30_000;
    while (!this.output.includes('serving CRI')) {
      if (Date.now() > until || child.exitCode !== null)
        throw new Error(`docker-cri did not start:\n${this.output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    this.client = new CriClient(this.socket);
    return this.client;
  }

  /** Sends a signal and waits for the process to end; resolves to its exit code. */
  async signal(sig: NodeJS.Signals): Promise<number | null> {
    const child = this.child;
    const client = this.client;
    this.client = undefined;
    this.child = undefined;
    if (!child) return null;
    // The client stays open until the process is gone, so that calls in flight can finish.
    const done =
      child.exitCode !== null
        ? Promise.resolve(child.exitCode)
        : new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    if (child.exitCode === null) child.kill(sig);
    const code = await done;
    client?.close();
    return code;
  }

  exists(): boolean {
    return fs.existsSync(this.socket);
  }
}
