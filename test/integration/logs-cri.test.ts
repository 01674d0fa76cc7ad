import fs from 'fs';
import path from 'path';
import { startShim, type TestShim } from '../support/shim';
import { removeTestPods } from '../support/pod-config';
import { Cri } from './container-support';
import { completeRecords, lines, outputDone, records, waitFor } from './logs-support';

/** Logs of containers made through the CRI, as the kubelet makes them: the whole path end to end. */

jest.setTimeout(180_000);
let shim: TestShim;
let cri: Cri;

beforeAll(async () => {
  shim = await startShim();
  cri = new Cri(shim);
});
afterAll(async () => {
  if (shim) {
    await removeTestPods(shim.client).catch(() => undefined);
    await shim.stop();
  }
});

describe('logs of a container made with CreateContainer/StartContainer', () => {
  it('land in log_directory/log_path in CRI format, survive a rotation, and end when the container stops', async () => {
    const pod = await cri.pod('logs');
    const id = await cri.run(
      pod,
      'trap "echo bye; exit 0" TERM; i=0; while true; do echo tick-$i; echo tock-$i >&2; i=$((i+1)); usleep 3000; done',
    );
    const logPath = path.join(pod.config.log_directory, 'c1', '0.log');
    const status = await shim.client.rt<{ status: { log_path: string } }>('ContainerStatus', {
      container_id: id,
    });
    expect(status.status.log_path).toBe(logPath);
    await waitFor('lines', () => completeRecords(logPath).length >= 60);

    fs.renameSync(logPath, `${logPath}.20261125-120000`);
    await shim.client.rt('ReopenContainerLog', { container_id: id });
    await waitFor('lines in the new file', () => completeRecords(logPath).length >= 60);
    await shim.client.rt('StopContainer', { container_id: id, timeout: 10 });
    await waitFor('output written', () => outputDone(shim.config.rootDirectory, id));

    const all = [...records(`${logPath}.20261125-120000`), ...records(logPath)];
    const out = lines(all, 'stdout');
    expect(out[out.length - 1]).toBe('bye');
    const ticks = out.slice(0, -1);
    expect(ticks).toEqual(ticks.map((_, i) => `tick-${i}`));
    const tocks = lines(all, 'stderr');
    expect(tocks).toEqual(tocks.map((_, i) => `tock-${i}`));
    expect(Math.abs(ticks.length - tocks.length)).toBeLessThanOrEqual(1);
  });
});
