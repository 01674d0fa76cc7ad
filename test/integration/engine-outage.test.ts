import { status } from '@grpc/grpc-js';
import { PrivateEngine } from '../support/private-engine';
import { startShim, type TestShim } from '../support/shim';
import { grpcError } from '../support/cri-client';

interface Condition {
  type: string;
  status: boolean;
}

async function runtimeReady(shim: TestShim): Promise<boolean> {
  const res = await shim.client.rt<{ status: { conditions: Condition[] } }>('Status', {});
  return res.status.conditions.find((c) => c.type === 'RuntimeReady')!.status;
}

async function eventually(what: string, cond: () => Promise<boolean>, ms: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await cond().catch(() => false)) return Date.now() - started;
    if (Date.now() - started > ms) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('docker engine outage', () => {
  const engine = new PrivateEngine();
  let shim: TestShim;

  beforeAll(async () => {
    await engine.start();
    engine.copyImageFrom(process.env.DOCKER_HOST as string, 'busybox:latest');
    shim = await startShim({ dockerEndpoint: engine.endpoint, dockerCallTimeoutSeconds: 10 });
  });
  afterAll(async () => {
    await shim?.stop();
    await engine.destroy();
  });

  it('reports RuntimeReady false, fails calls with UNAVAILABLE, and recovers by itself', async () => {
    expect(await runtimeReady(shim)).toBe(true);
    // A container made while the shim watches, labelled the way Kubernetes containers are.
    const before = await engine.api().createContainer({
      Image: 'busybox:latest',
      Cmd: ['sleep', '600'],
      Labels: { 'io.kubernetes.docker.type': 'podsandbox', 'dcri-test': 'yes' },
      HostConfig: { NetworkMode: 'none' },
    });
    await eventually(
      'index sees the first container',
      async () => shim.app.deps.index.get(before.id) !== undefined,
      10_000,
    );

    await engine.stop();
    const notReadyAfter = await eventually(
      'RuntimeReady false',
      async () => !(await runtimeReady(shim)),
      10_000,
    );
    expect(notReadyAfter).toBeLessThan(10_000);
    const t0 = Date.now();
    const err = await grpcError(shim.client.rt('Version', {}));
    expect(err.code).toBe(status.UNAVAILABLE);
    expect(err.details).toMatch(/docker engine/);
    expect(Date.now() - t0).toBeLessThan(5_000);
    const imgErr = await grpcError(shim.client.img('ListImages', {}));
    expect(imgErr.code).toBe(status.UNAVAILABLE);

    await engine.start();
    await eventually('RuntimeReady true again', () => runtimeReady(shim), 20_000);
    // A container made after the restart shows that the events stream and index reconnected.
    const after = await engine.api().createContainer({
      Image: 'busybox:latest',
      Cmd: ['true'],
      Labels: { 'io.kubernetes.docker.type': 'podsandbox', 'dcri-test': 'yes' },
      HostConfig: { NetworkMode: 'none' },
    });
    await eventually(
      'index follows events again',
      async () => shim.app.deps.index.get(after.id) !== undefined,
      20_000,
    );
    expect(shim.app.deps.index.get(before.id)).toBeDefined();
    expect((await shim.client.rt<{ runtime_name: string }>('Version', {})).runtime_name).toBe('docker');
  });
});
