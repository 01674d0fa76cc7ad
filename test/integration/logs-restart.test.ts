import { spawn, type ChildProcess } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import {
  completeRecords,
  engine,
  lines,
  loggedContainer,
  Made,
  outputDone,
  records,
  waitFor,
} from './logs-support';

/** The real binary, killed with SIGKILL while a container logs fast: every line once, in order. */

jest.setTimeout(240_000);
const MAIN = path.resolve(__dirname, '../../dist/src/main.js');
const docker = engine();
const made = new Made();
let dir: string;
let shim: ChildProcess | undefined;

function startBinary(): { child: ChildProcess; output: () => string } {
  let out = '';
  const child = spawn(
    process.execPath,
    [
      MAIN,
      '--container-runtime-endpoint',
      `unix://${path.join(dir, 'cri.sock')}`,
      '--root-directory',
      path.join(dir, 'root'),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  shim = child;
  return { child, output: () => out };
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) =>
    child.exitCode !== null || child.signalCode ? resolve() : child.once('exit', () => resolve()),
  );
}

async function startServing(): Promise<ChildProcess> {
  const s = startBinary();
  await waitFor('docker-cri serving', () => s.output().includes('serving CRI') || s.child.exitCode !== null);
  if (s.child.exitCode !== null) throw new Error(`docker-cri exited: ${s.output()}`);
  return s.child;
}

beforeAll(() => {
  if (!fs.existsSync(MAIN))
    throw new Error(`${MAIN} is missing: run \`npm run build\` first (npm test does)`);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dcri-logs-kill-'));
});
afterAll(async () => {
  if (shim && shim.exitCode === null && !shim.signalCode) {
    shim.kill('SIGKILL');
    await exited(shim);
  }
  await made.cleanup(docker);
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('log pumps across kill -9 of the shim', () => {
  it('hold every numbered line exactly once, in order, and write what a container printed while the shim was down', async () => {
    const total = 4000;
    let child = await startServing();
    const c = await loggedContainer(
      docker,
      made,
      `i=0; while [ $i -lt ${total} ]; do echo n-$i; i=$((i+1)); usleep 2000; done`,
    );
    for (let kill = 1; kill <= 3; kill++) {
      const seen = completeRecords(c.logPath).length;
      await waitFor('more lines', () => completeRecords(c.logPath).length >= seen + 300);
      child.kill('SIGKILL');
      await exited(child);
      await new Promise((r) => setTimeout(r, 200));
      child = await startServing();
    }
    // Once more, and let the container finish while no shim runs.
    await waitFor('more lines', () => completeRecords(c.logPath).length >= 1300);
    child.kill('SIGKILL');
    await exited(child);
    await docker.getContainer(c.id).wait();
    // Another docker-cri on this engine (a test shim of another suite run at the same time) may take
    // the pump over while ours is dead; the file must be exact either way.
    if (records(c.logPath).length === total) {
      console.warn('another docker-cri process wrote the output while this shim was down');
    }

    child = await startServing();
    await waitFor('output written', () => outputDone(path.join(dir, 'root'), c.id), 120_000);
    child.kill('SIGTERM');
    await exited(child);

    const got = lines(records(c.logPath));
    const want = Array.from({ length: total }, (_, i) => `n-${i}`);
    // Compare summaries first so a failure names the problem rather than printing 4000 lines.
    const dupes = got.length - new Set(got).size;
    const missing = want.filter((w) => !got.includes(w)).slice(0, 5);
    expect({ count: got.length, dupes, missing }).toEqual({ count: total, dupes: 0, missing: [] });
    expect(got).toEqual(want);
  });
});
