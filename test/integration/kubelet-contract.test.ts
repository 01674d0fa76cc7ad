import crypto from 'crypto';
import { status } from '@grpc/grpc-js';
import { startShim, type TestShim } from '../support/shim';
import { grpcError } from '../support/cri-client';
import { removeTestPods, testDocker } from '../support/pod-config';
import { Cri, type Pod } from './container-support';

jest.setTimeout(120_000);

/**
 * The kubelet's calling patterns on ids, through the real socket: stop and remove succeed for any
 * id that matches nothing, whatever it looks like, any number of times; every other call answers
 * NOT_FOUND naming the id; only an empty id is malformed. Ids that are not hex never reach Docker.
 */
describe('the kubelet contract on ids', () => {
  let shim: TestShim;
  let cri: Cri;
  const docker = testDocker();

  beforeAll(async () => {
    shim = await startShim();
    cri = new Cri(shim);
  });
  afterAll(async () => {
    await removeTestPods(shim.client);
    await shim.stop();
  });

  /** A short hex prefix no container on the engine has (other suites share it). */
  const unusedPrefix = async (): Promise<string> => {
    const all = await docker.listContainers({ all: true });
    for (;;) {
      const p = crypto.randomBytes(6).toString('hex');
      if (!all.some((c) => c.Id.startsWith(p))) return p;
    }
  };

  /** Never-existing ids of the shapes the kubelet and conformance clients send. */
  const shapes = async (): Promise<Array<[string, string]>> => [
    ['UUID', crypto.randomUUID()],
    ['64-hex', crypto.randomBytes(32).toString('hex')],
    ['short hex', await unusedPrefix()],
    ['name-like', 'k8s_POD_web_default_0'],
    ['path-like', '../../containers/json'],
  ];

  /** Runs `fn` and returns the contexts of the Docker calls made meanwhile by anyone in this app. */
  const dockerContexts = async (fn: () => Promise<void>): Promise<string[]> => {
    const spy = jest.spyOn(shim.app.docker, 'call');
    try {
      await fn();
      return spy.mock.calls.map((c) => String(c[1] ?? ''));
    } finally {
      spy.mockRestore();
    }
  };

  const STOP_REMOVE: Array<[string, string]> = [
    ['StopContainer', 'container_id'],
    ['RemoveContainer', 'container_id'],
    ['StopPodSandbox', 'pod_sandbox_id'],
    ['RemovePodSandbox', 'pod_sandbox_id'],
  ];

  it('Stop/Remove of never-existing ids of every shape succeed, twice in a row', async () => {
    for (const [shape, id] of await shapes()) {
      const contexts = await dockerContexts(async () => {
        for (const [method, field] of STOP_REMOVE) {
          for (let i = 0; i < 2; i++) {
            await shim.client.rt(method, { [field]: id }).catch((err: Error) => {
              throw new Error(`${method} of a ${shape} id ${id}: ${err.message}`);
            });
          }
        }
      });
      // Only hex can be a Docker id: anything else is answered without asking Docker.
      if (!/^[0-9a-f]+$/.test(id)) expect(contexts.filter((c) => c.includes(id))).toEqual([]);
    }
  });

  it('an empty id is INVALID_ARGUMENT naming the field, for stop and remove too', async () => {
    for (const [method, field] of STOP_REMOVE) {
      const err = await grpcError(shim.client.rt(method, { [field]: '' }));
      expect(err.code).toBe(status.INVALID_ARGUMENT);
      expect(err.details).toContain(field);
    }
  });

  /** Every call that names one container or sandbox, as the kubelet would send it. */
  const containerCalls = (id: string): Array<[string, object]> => [
    ['ContainerStatus', { container_id: id }],
    ['StartContainer', { container_id: id }],
    ['ExecSync', { container_id: id, cmd: ['true'], timeout: 5 }],
    ['Exec', { container_id: id, cmd: ['true'], stdout: true }],
    ['Attach', { container_id: id, stdout: true }],
    ['UpdateContainerResources', { container_id: id, linux: { cpu_shares: 512 } }],
    ['ReopenContainerLog', { container_id: id }],
    ['ContainerStats', { container_id: id }],
  ];
  const sandboxCalls = (id: string): Array<[string, object]> => [
    ['PodSandboxStatus', { pod_sandbox_id: id }],
    ['PortForward', { pod_sandbox_id: id, port: [80] }],
    ['PodSandboxStats', { pod_sandbox_id: id }],
  ];

  it('every other call on a never-existing id is NOT_FOUND naming it', async () => {
    for (const [shape, id] of await shapes()) {
      const contexts = await dockerContexts(async () => {
        for (const [method, req] of [...containerCalls(id), ...sandboxCalls(id)]) {
          const err = await grpcError(shim.client.rt(method, req));
          expect([method, shape, status[err.code]]).toEqual([method, shape, 'NOT_FOUND']);
          expect(err.details).toContain(id);
        }
      });
      if (!/^[0-9a-f]+$/.test(id)) expect(contexts.filter((c) => c.includes(id))).toEqual([]);
    }
  });

  it('removed ids: stop and remove succeed again, the rest is NOT_FOUND', async () => {
    const pod: Pod = await cri.pod('gone');
    const ctr = await cri.run(pod, 'sleep 3600');
    await shim.client.rt('RemoveContainer', { container_id: ctr });
    await shim.client.rt('RemovePodSandbox', { pod_sandbox_id: pod.id });
    for (const id of [ctr, ctr.slice(0, 12), pod.id, pod.id.slice(0, 12)]) {
      for (const [method, field] of STOP_REMOVE) {
        await shim.client.rt(method, { [field]: id });
        await shim.client.rt(method, { [field]: id });
      }
    }
    for (const [method, req] of containerCalls(ctr)) {
      const err = await grpcError(shim.client.rt(method, req));
      expect([method, status[err.code]]).toEqual([method, 'NOT_FOUND']);
      expect(err.details).toContain(ctr);
    }
    for (const [method, req] of sandboxCalls(pod.id)) {
      const err = await grpcError(shim.client.rt(method, req));
      expect([method, status[err.code]]).toEqual([method, 'NOT_FOUND']);
      expect(err.details).toContain(pod.id);
    }
  });

  it('Exec, Attach and PortForward act only on what the CRI knows as such', async () => {
    const pod: Pod = await cri.pod('only', {
      linux: { security_context: { namespace_options: { network: 'NODE' } } },
    });
    const ctr = await cri.run(pod, 'sleep 3600');
    // A container made outside Kubernetes, running.
    const foreign = await docker.createContainer({
      Image: 'busybox:latest',
      Cmd: ['sleep', '3600'],
      Labels: { 'dcri-test': 'yes' },
      HostConfig: { NetworkMode: 'none' },
    });
    try {
      await foreign.start();
      // The pause container is no workload container; a workload container is no sandbox.
      for (const [method, req] of [
        ['Exec', { container_id: pod.id, cmd: ['true'], stdout: true }],
        ['Attach', { container_id: pod.id, stdout: true }],
        ['Exec', { container_id: foreign.id, cmd: ['true'], stdout: true }],
        ['Attach', { container_id: foreign.id, stdout: true }],
        ['ExecSync', { container_id: foreign.id, cmd: ['true'], timeout: 5 }],
        ['PortForward', { pod_sandbox_id: ctr, port: [80] }],
        ['PortForward', { pod_sandbox_id: foreign.id, port: [80] }],
      ] as Array<[string, object]>) {
        const err = await grpcError(shim.client.rt(method, req));
        expect([method, status[err.code]]).toEqual([method, 'NOT_FOUND']);
      }
      // Stop/Remove leave the foreign container alone (it matches no Kubernetes container).
      await shim.client.rt('StopContainer', { container_id: foreign.id, timeout: 0 });
      await shim.client.rt('RemoveContainer', { container_id: foreign.id });
      expect((await foreign.inspect()).State.Running).toBe(true);
      // The real ones work.
      const ok = await shim.client.rt<{ url: string }>('Exec', {
        container_id: ctr,
        cmd: ['true'],
        stdout: true,
      });
      expect(ok.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/exec\//);
      const pf = await shim.client.rt<{ url: string }>('PortForward', { pod_sandbox_id: pod.id, port: [80] });
      expect(pf.url).toMatch(/\/portforward\//);
    } finally {
      await foreign.remove({ force: true });
    }
  });
});
