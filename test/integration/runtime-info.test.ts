import { status } from '@grpc/grpc-js';
import { startShim, type TestShim } from '../support/shim';
import { grpcError } from '../support/cri-client';

interface Condition {
  type: string;
  status: boolean;
  reason: string;
  message: string;
}

describe('Version, Status, RuntimeConfig against the real engine', () => {
  let shim: TestShim;
  beforeAll(async () => {
    shim = await startShim();
  });
  afterAll(async () => {
    await shim.stop();
  });

  it('Version names docker and the engine version', async () => {
    const v = await shim.client.rt<Record<string, string>>('Version', { version: '0.1.0' });
    const engine = await shim.app.docker.api.version();
    expect(v).toEqual({
      version: '0.1.0',
      runtime_name: 'docker',
      runtime_version: engine.Version,
      runtime_api_version: 'v1',
    });
  });

  it('Status reports both conditions ready and verbose info', async () => {
    const res = await shim.client.rt<{
      status: { conditions: Condition[] };
      info: Record<string, string>;
      runtime_handlers: Array<{ name: string }>;
    }>('Status', { verbose: true });
    const byType = Object.fromEntries(res.status.conditions.map((c) => [c.type, c]));
    expect(byType.RuntimeReady.status).toBe(true);
    expect(byType.NetworkReady.status).toBe(true);
    const docker = JSON.parse(res.info.docker);
    expect(docker.serverVersion).toMatch(/\d+\.\d+/);
    expect(JSON.parse(res.info.config).podInfraContainerImage).toBe('registry.k8s.io/pause:3.10');
    expect(res.runtime_handlers.map((h) => h.name)).toEqual(expect.arrayContaining(['', 'runc']));
  });

  it('RuntimeConfig gives the engine cgroup driver', async () => {
    const info = await shim.app.docker.api.info();
    const res = await shim.client.rt<{ linux: { cgroup_driver: string } }>('RuntimeConfig', {});
    expect(res.linux.cgroup_driver).toBe(info.CgroupDriver === 'systemd' ? 'SYSTEMD' : 'CGROUPFS');
  });

  it('answers UNIMPLEMENTED for methods it does not have', async () => {
    const err = await grpcError(shim.client.rt('CheckpointContainer', { container_id: 'x' }));
    expect(err.code).toBe(status.UNIMPLEMENTED);
    expect(err.details).toContain('CheckpointContainer');
  });
});

describe('Status with the engine down', () => {
  let shim: TestShim;
  beforeAll(async () => {
    shim = await startShim({ dockerEndpoint: 'unix:///nonexistent/docker.sock' });
  });
  afterAll(async () => {
    await shim.stop();
  });

  it('reports RuntimeReady false with reason and message, and calls fail UNAVAILABLE', async () => {
    const res = await shim.client.rt<{ status: { conditions: Condition[] } }>('Status', {});
    const rt = res.status.conditions.find((c) => c.type === 'RuntimeReady')!;
    expect(rt.status).toBe(false);
    expect(rt.reason).toBe('DockerDaemonNotReady');
    expect(rt.message).toContain('/nonexistent/docker.sock');
    const err = await grpcError(shim.client.rt('Version', {}));
    expect(err.code).toBe(status.UNAVAILABLE);
  });
});
