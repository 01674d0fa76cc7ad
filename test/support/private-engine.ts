import { spawn, execFileSync, type ChildProcess } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import Dockerode from 'dockerode';

/**
 * A second, throw-away dockerd for tests that stop and start the engine. It gets a bridge of its
 * own and no iptables rules, so it never disturbs the shared test engine or the host's networking.
 * (`--bridge none` would not do: dockerd then deletes the host's docker0, the shared engine's.)
 */
export class PrivateEngine {
  readonly dir: string;
  readonly socket: string;
  private child: ChildProcess | undefined;
  private readonly bridge: string;

  constructor() {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dcri-engine-'));
    this.socket = path.join(this.dir, 'docker.sock');
    this.bridge = `dcrio${process.pid % 100000}`;
  }

  private ensureBridge(): void {
    try {
      execFileSync('ip', ['link', 'show', this.bridge], { stdio: 'ignore' });
    } catch {
      execFileSync('ip', ['link', 'add', this.bridge, 'type', 'bridge']);
      // An address only on this bridge of our own; nothing is ever sent to it.
      execFileSync('ip', ['addr', 'add', `10.251.${process.pid % 250}.1/24`, 'dev', this.bridge]);
      execFileSync('ip', ['link', 'set', this.bridge, 'up']);
    }
  }

  get endpoint(): string {
    return `unix://${this.socket}`;
  }

  api(): Dockerode {
    return new Dockerode({ socketPath: this.socket });
  }

  async start(): Promise<void> {
    this.ensureBridge();
    const log = fs.openSync(path.join(this.dir, 'dockerd.log'), 'a');
    // The dockerd of the engine under test (scripts/test.sh names it), so that an engine restarted
    // by a test is the same version as the rest of the run; its own helpers (docker-proxy,
    // docker-init) sit beside it and go first on its PATH.
    const dockerd = process.env.DCRI_TEST_DOCKERD || 'dockerd';
    const helpers = path.isAbsolute(dockerd)
      ? [path.dirname(dockerd), path.join(path.dirname(dockerd), '..', 'bin')]
      : [];
    this.child = spawn(
      dockerd,
      [
        '--data-root',
        path.join(this.dir, 'data'),
        '--exec-root',
        path.join(this.dir, 'exec'),
        '--host',
        this.endpoint,
        '--pidfile',
        path.join(this.dir, 'docker.pid'),
        '--bridge',
        this.bridge,
        '--iptables=false',
        '--ip-masq=false',
      ],
      {
        stdio: ['ignore', log, log],
        env: { ...process.env, PATH: [...helpers, process.env.PATH ?? ''].join(path.delimiter) },
      },
    );
    const until = Date.now() + 60_000;
    for (;;) {
      try {
        await this.api().ping();
        return;
      } catch {
        if (Date.now() > until || this.child.exitCode !== null) {
          throw new Error(
            `private dockerd did not start: ${fs.readFileSync(path.join(this.dir, 'dockerd.log'), 'utf8').slice(-2000)}`,
          );
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  /** Stops dockerd the way systemd would (SIGTERM) and waits for it to be gone. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await gone;
  }

  /** Loads an image from the shared engine into this one (docker save | docker load, offline). */
  copyImageFrom(sharedEndpoint: string, image: string): void {
    const tar = path.join(this.dir, 'image.tar');
    execFileSync('/usr/bin/docker', ['-H', sharedEndpoint, 'save', '-o', tar, image]);
    execFileSync('/usr/bin/docker', ['-H', this.endpoint, 'load', '-i', tar], { stdio: 'ignore' });
    fs.rmSync(tar);
  }

  async destroy(): Promise<void> {
    if (this.child) {
      try {
        const api = this.api();
        const all = await api.listContainers({ all: true });
        await Promise.all(
          all.map((c) =>
            api
              .getContainer(c.Id)
              .remove({ force: true })
              .catch(() => undefined),
          ),
        );
      } catch {
        // engine already down
      }
      await this.stop();
    }
    // Mounts of the private engine may linger briefly after it exits.
    try {
      execFileSync('sh', [
        '-c',
        `grep -o ' ${this.dir}[^ ]*' /proc/mounts | sort -r | xargs -r -n1 umount -l`,
      ]);
    } catch {
      // nothing mounted
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
    try {
      execFileSync('ip', ['link', 'del', this.bridge], { stdio: 'ignore' });
    } catch {
      // already gone
    }
  }
}
