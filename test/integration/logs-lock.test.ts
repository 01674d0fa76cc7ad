import fs from 'fs';
import path from 'path';
import { DEFAULT_LOCK_DIR } from '../../src/logs/pump-lock';
import { startShim, type TestShim } from '../support/shim';
import { completeRecords, engine, lines, loggedContainer, Made, records, waitFor } from './logs-support';

/**
 * Two docker-cri processes on one engine (here two in this process, each with its own lock token):
 * the pump lock keeps one writer per log file, even when the lock file is removed under its holder
 * (`dpkg --purge docker-cri` removes /run/docker-cri while other docker-cri processes run). The
 * 30-minute chaos soak had every line twice in the files of the containers running at the purge.
 */
jest.setTimeout(180_000);
const docker = engine();
const made = new Made();
const shims: TestShim[] = [];

afterAll(async () => {
  await Promise.all(shims.map((s) => s.stop()));
  await made.cleanup(docker);
});

describe('the log pump lock', () => {
  it('removed under its holder while another docker-cri wants the log: each line written once', async () => {
    shims.push(await startShim());
    const c = await loggedContainer(
      docker,
      made,
      'i=1; while [ $i -le 300 ]; do echo $i; i=$((i+1)); usleep 50000; done',
      { start: false },
    );
    // As StartContainer does: the lock is this shim's before the container runs (the engine is
    // shared; any other docker-cri on it would otherwise race for it when it starts).
    await shims[0].app.deps.logs.prepare(c.id, c.logPath);
    await docker.getContainer(c.id).start();
    await waitFor('the first shim writing', () => completeRecords(c.logPath).length >= 20);
    // The second one sees the container running and finds its lock held.
    shims.push(await startShim());
    await new Promise((r) => setTimeout(r, 1500));
    // Only this container's lock: the directory is shared with every docker-cri on the machine.
    fs.rmSync(path.join(DEFAULT_LOCK_DIR, `${c.id}.lock`), { force: true });
    await docker.getContainer(c.id).wait();
    await waitFor('every line', () => lines(completeRecords(c.logPath)).length >= 300, 60_000);
    // Late copies from a second writer would come within its batch window.
    await new Promise((r) => setTimeout(r, 2000));
    expect(lines(records(c.logPath))).toEqual(Array.from({ length: 300 }, (_, i) => String(i + 1)));
  });
});
