import fs from 'fs';
import os from 'os';
import path from 'path';
import { BinaryShim } from '../support/binary-shim';
import { podConfig, sweepWithDocker, testDocker } from '../support/pod-config';

describe('SIGTERM with calls in flight', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dcri-shutdown-'));
  const shim = new BinaryShim(path.join(dir, 'cri.sock'), path.join(dir, 'root'));
  afterAll(async () => {
    await shim.signal('SIGKILL');
    await sweepWithDocker();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('finishes the calls, leaves containers running, exits 0 and removes the socket', async () => {
    const client = await shim.start();
    const config = podConfig('shutdown');
    const { pod_sandbox_id } = await client.rt<{ pod_sandbox_id: string }>('RunPodSandbox', { config });
    const create = (name: string, command: string[]) =>
      client.rt<{ container_id: string }>('CreateContainer', {
        pod_sandbox_id,
        sandbox_config: config,
        config: {
          metadata: { name, attempt: 0 },
          image: { image: 'busybox:latest' },
          command,
          log_path: `${name}.log`,
        },
      });
    const stubborn = (await create('stubborn', ['sh', '-c', 'trap "" TERM; while true; do sleep 1; done']))
      .container_id;
    const keeper = (await create('keeper', ['sleep', '600'])).container_id;
    await client.rt('StartContainer', { container_id: stubborn });
    await client.rt('StartContainer', { container_id: keeper });

    // A stop that takes its 3 s grace period is in flight when SIGTERM arrives.
    const stopping = client.rt('StopContainer', { container_id: stubborn, timeout: 3 });
    await new Promise((r) => setTimeout(r, 500));
    const code = shim.signal('SIGTERM');
    await expect(stopping).resolves.toBeDefined();
    expect(await code).toBe(0);
    expect(shim.exists()).toBe(false);

    const docker = testDocker();
    expect((await docker.getContainer(stubborn).inspect()).State.Running).toBe(false);
    expect((await docker.getContainer(keeper).inspect()).State.Running).toBe(true);
    expect((await docker.getContainer(pod_sandbox_id).inspect()).State.Running).toBe(true);
  });
});
