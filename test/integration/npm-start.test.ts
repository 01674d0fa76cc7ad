import { spawn } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { CriClient } from '../support/cri-client';

/** The README's first command, as a user runs it (here on a temp socket, against the test engine). */
describe('npm start (scripts/start.sh)', () => {
  it('sets up, serves CRI, reports its resources on SIGUSR2 and stops cleanly on SIGTERM', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dcri-start-'));
    const sock = path.join(dir, 'cri.sock');
    let out = '';
    const child = spawn(
      'bash',
      [
        path.resolve(__dirname, '../../scripts/start.sh'),
        '--container-runtime-endpoint',
        `unix://${sock}`,
        '--root-directory',
        path.join(dir, 'root'),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: process.env },
    );
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    const waitFor = async (text: string): Promise<void> => {
      const until = Date.now() + 90_000;
      while (!out.includes(text)) {
        if (Date.now() > until || child.exitCode !== null) throw new Error(`no "${text}" in:\n${out}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    try {
      await waitFor('serving CRI');
      const client = new CriClient(sock);
      expect((await client.rt<{ runtime_name: string }>('Version', {})).runtime_name).toBe('docker');
      client.close();

      child.kill('SIGUSR2');
      await waitFor('"message":"resources"');
      const line = out.split('\n').find((l) => l.includes('"message":"resources"'))!;
      const report = JSON.parse(line) as { fds: number; memory: { rss: number } };
      expect(report.fds).toBeGreaterThan(0);
      expect(report.memory.rss).toBeGreaterThan(0);

      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(fs.existsSync(sock)).toBe(false);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
