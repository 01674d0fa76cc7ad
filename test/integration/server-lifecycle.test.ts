import { spawn, spawnSync, type ChildProcess } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { CriClient } from '../support/cri-client';

const MAIN = path.resolve(__dirname, '../../dist/src/main.js');

function startBinary(args: string[]): { child: ChildProcess; output: () => string } {
  let out = '';
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  return { child, output: () => out };
}

async function waitFor(cond: () => boolean, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
}

describe('the docker-cri binary', () => {
  let dir: string;
  let sock: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dcri-bin-'));
    sock = path.join(dir, 'cri.sock');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('serves on a 0660 socket, refuses a second server, and on SIGTERM removes the socket and exits 0', async () => {
    const first = startBinary(['--container-runtime-endpoint', `unix://${sock}`]);
    await waitFor(() => fs.existsSync(sock), 20_000);
    expect(fs.statSync(sock).mode & 0o777).toBe(0o660);

    const client = new CriClient(sock);
    const v = await client.rt<{ runtime_name: string }>('Version', {});
    expect(v.runtime_name).toBe('docker');
    client.close();

    const second = startBinary(['--container-runtime-endpoint', `unix://${sock}`]);
    expect(await exited(second.child)).not.toBe(0);
    expect(second.output()).toMatch(/already listening on .*cri\.sock/);
    expect(fs.existsSync(sock)).toBe(true);

    first.child.kill('SIGTERM');
    expect(await exited(first.child)).toBe(0);
    expect(fs.existsSync(sock)).toBe(false);
    const stray = spawnSync('pgrep', ['-f', `${MAIN} --container-runtime-endpoint unix://${sock}`]);
    expect(stray.stdout.toString().trim()).toBe('');
  });

  it('replaces a stale socket file left by a killed server', async () => {
    const first = startBinary(['--container-runtime-endpoint', `unix://${sock}`]);
    await waitFor(() => fs.existsSync(sock), 20_000);
    first.child.kill('SIGKILL');
    await exited(first.child);
    expect(fs.existsSync(sock)).toBe(true);

    const second = startBinary(['--container-runtime-endpoint', `unix://${sock}`]);
    await waitFor(() => second.output().includes('serving CRI'), 20_000);
    const client = new CriClient(sock);
    expect((await client.rt<{ runtime_name: string }>('Version', {})).runtime_name).toBe('docker');
    client.close();
    second.child.kill('SIGINT');
    expect(await exited(second.child)).toBe(0);
  });

  it('prints help and version, and refuses unknown flags', () => {
    const help = spawnSync(process.execPath, [MAIN, '--help']);
    expect(help.status).toBe(0);
    expect(help.stdout.toString()).toContain('--container-runtime-endpoint');
    const version = spawnSync(process.execPath, [MAIN, '--version']);
    expect(version.stdout.toString()).toMatch(/^docker-cri \d+\.\d+\.\d+ \(commit \S+, CRI v1\)/);
    const bad = spawnSync(process.execPath, [MAIN, '--bogus']);
    expect(bad.status).toBe(2);
    expect(bad.stderr.toString()).toContain('unknown flag --bogus');
  });
});
