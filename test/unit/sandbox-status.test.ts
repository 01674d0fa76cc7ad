import type { ContainerInspectInfo } from 'dockerode';
import type { IndexedContainer } from '../../src/docker/container-index';
import {
  filterSandboxes,
  podIpsFromInspect,
  sandboxFromIndex,
  sandboxMetadata,
  sandboxNamespaces,
  sandboxStatusFromInspect,
} from '../../src/translate/sandbox-status';
import { containerJoinModes } from '../../src/lookup/find-sandbox';

const ID_A = 'a'.repeat(64);
const ID_B = 'ab' + 'c'.repeat(62);
const ID_C = 'b'.repeat(64);

function entry(
  id: string,
  over: Partial<IndexedContainer> = {},
  labels: Record<string, string> = {},
): IndexedContainer {
  return {
    id,
    name: `k8s_POD_p-${id.slice(0, 3)}_ns_uid-${id.slice(0, 3)}_0`,
    labels: { 'io.kubernetes.docker.type': 'podsandbox', 'io.kubernetes.container.name': 'POD', ...labels },
    state: 'running',
    created: 1_700_000_000,
    image: 'pause',
    imageId: 'sha256:x',
    ...over,
  };
}

function inspect(over: Record<string, unknown> = {}): ContainerInspectInfo {
  return {
    Id: ID_A,
    Name: '/k8s_POD_web_prod_u-1_3_deadbeef',
    Created: '2024-05-01T10:00:00.123456789Z',
    State: { Running: true, Pid: 42 },
    Config: {
      Image: 'registry.k8s.io/pause:3.10',
      Labels: {
        'io.kubernetes.docker.type': 'podsandbox',
        'io.kubernetes.container.name': 'POD',
        'io.kubernetes.pod.name': 'web',
        app: 'web',
        'annotation.k/a': 'v',
      },
    },
    HostConfig: { NetworkMode: 'default', IpcMode: 'shareable', PidMode: '' },
    NetworkSettings: {
      IPAddress: '172.17.0.5',
      GlobalIPv6Address: 'fd00::5',
      Networks: { bridge: { IPAddress: '172.17.0.5', GlobalIPv6Address: 'fd00::5' } },
    },
    ...over,
  } as unknown as ContainerInspectInfo;
}

describe('sandboxMetadata', () => {
  it('prefers our label, then the dockershim name (with or without suffix), then the kubelet labels', () => {
    const ours = {
      'io.docker-cri.metadata': JSON.stringify({ name: 'n_1', namespace: 'ns', uid: 'u', attempt: 4 }),
    };
    expect(sandboxMetadata('k8s_POD_x_y_z_0', ours)).toEqual({
      name: 'n_1',
      namespace: 'ns',
      uid: 'u',
      attempt: 4,
    });
    expect(sandboxMetadata('/k8s_POD_web_prod_u-1_3', {})).toEqual({
      name: 'web',
      namespace: 'prod',
      uid: 'u-1',
      attempt: 3,
    });
    expect(sandboxMetadata('k8s_POD_web_prod_u-1_3_0a1b2c3d', {})).toMatchObject({ name: 'web', attempt: 3 });
    expect(
      sandboxMetadata('odd', {
        'io.kubernetes.pod.name': 'p',
        'io.kubernetes.pod.namespace': 'n',
        'io.kubernetes.pod.uid': 'u',
      }),
    ).toEqual({ name: 'p', namespace: 'n', uid: 'u', attempt: 0 });
  });
});

describe('sandboxFromIndex / filterSandboxes', () => {
  const all = [
    entry(ID_A, {}, { tier: 'front' }),
    entry(ID_B, { state: 'exited' }, { tier: 'back' }),
    entry(
      ID_C,
      {},
      {
        tier: 'back',
        'io.docker-cri.created-at': '1700000000999999999',
        'io.docker-cri.runtime-handler': 'runc',
      },
    ),
    { ...entry('d'.repeat(64)), labels: { 'io.kubernetes.docker.type': 'container' } },
  ];

  it('answers PodSandbox from the list entry, without internal labels', () => {
    const s = sandboxFromIndex(all[2]);
    expect(s).toEqual({
      id: ID_C,
      metadata: { name: 'p-bbb', namespace: 'ns', uid: 'uid-bbb', attempt: 0 },
      state: 'SANDBOX_READY',
      created_at: '1700000000999999999',
      labels: { tier: 'back' },
      annotations: {},
      runtime_handler: 'runc',
    });
    expect(sandboxFromIndex(all[1]).created_at).toBe('1700000000000000000');
    expect(sandboxFromIndex(all[1]).state).toBe('SANDBOX_NOTREADY');
  });

  it('filters by id, unambiguous prefix, state and labels; containers are not sandboxes', () => {
    const ids = (f: object | null) => filterSandboxes(all, f as never).map((s) => s.id);
    expect(ids(null)).toEqual([ID_A, ID_B, ID_C]);
    expect(ids({ id: ID_B, state: null, label_selector: {} })).toEqual([ID_B]);
    expect(ids({ id: 'ab', state: null, label_selector: {} })).toEqual([ID_B]);
    expect(ids({ id: 'a', state: null, label_selector: {} })).toEqual([]); // ambiguous
    expect(ids({ id: 'ddd', state: null, label_selector: {} })).toEqual([]);
    expect(ids({ id: '', state: { state: 'SANDBOX_NOTREADY' }, label_selector: {} })).toEqual([ID_B]);
    expect(ids({ id: '', state: null, label_selector: { tier: 'back' } })).toEqual([ID_B, ID_C]);
    expect(ids({ id: '', state: { state: 'SANDBOX_READY' }, label_selector: { tier: 'back' } })).toEqual([
      ID_C,
    ]);
  });
});

describe('sandbox status from inspect', () => {
  it('reports a cri-dockerd sandbox from its name, labels and HostConfig', () => {
    const st = sandboxStatusFromInspect(inspect(), podIpsFromInspect(inspect()));
    expect(st).toEqual({
      id: ID_A,
      metadata: { name: 'web', namespace: 'prod', uid: 'u-1', attempt: 3 },
      state: 'SANDBOX_READY',
      created_at: '1714557600123456789',
      network: { ip: '172.17.0.5', additional_ips: [{ ip: 'fd00::5' }] },
      linux: { namespaces: { options: { network: 'POD', pid: 'CONTAINER', ipc: 'POD', target_id: '' } } },
      labels: { 'io.kubernetes.pod.name': 'web', app: 'web' },
      annotations: { 'k/a': 'v' },
      runtime_handler: '',
    });
  });

  it('reads our stored namespace options and the host modes', () => {
    const ours = inspect({
      Config: {
        Labels: {
          'io.docker-cri.namespace-options': '{"network":"POD","pid":"POD","ipc":"NODE","target_id":""}',
        },
      },
    });
    expect(sandboxNamespaces(ours)).toEqual({ network: 'POD', pid: 'POD', ipc: 'NODE', target_id: '' });
    const host = inspect({ HostConfig: { NetworkMode: 'host', PidMode: 'host', IpcMode: 'host' } });
    expect(sandboxNamespaces(host)).toEqual({ network: 'NODE', pid: 'NODE', ipc: 'NODE', target_id: '' });
    expect(podIpsFromInspect(host)).toEqual({ ip: '', additional_ips: [] });
  });

  it('takes the per-network addresses when the legacy fields are empty, and a stopped pod is NOTREADY', () => {
    const i = inspect({
      State: { Running: false },
      NetworkSettings: {
        IPAddress: '',
        Networks: { kind: { IPAddress: '10.1.0.7', GlobalIPv6Address: '' } },
      },
    });
    expect(podIpsFromInspect(i)).toEqual({ ip: '10.1.0.7', additional_ips: [] });
    expect(sandboxStatusFromInspect(i, podIpsFromInspect(i)).state).toBe('SANDBOX_NOTREADY');
  });
});

describe('containerJoinModes', () => {
  const pod = { network: 'POD', pid: 'POD', ipc: 'POD', target_id: '' } as const;
  const ns = (pid: string, target_id = '') =>
    ({ network: 'POD', ipc: 'POD', pid, target_id, userns_options: null }) as never;

  it('joins network and IPC always, PID per the container option', () => {
    expect(containerJoinModes(ID_A, pod, ns('POD'))).toEqual({
      NetworkMode: `container:${ID_A}`,
      IpcMode: `container:${ID_A}`,
      PidMode: `container:${ID_A}`,
      UTSMode: '',
    });
    expect(containerJoinModes(ID_A, pod, ns('CONTAINER')).PidMode).toBe('');
    expect(containerJoinModes(ID_A, pod, ns('NODE')).PidMode).toBe('host');
    expect(containerJoinModes(ID_A, pod, ns('TARGET', ID_C)).PidMode).toBe(`container:${ID_C}`);
    expect(() => containerJoinModes(ID_A, pod, ns('TARGET'))).toThrow(/target_id/);
  });

  it('uses the host UTS namespace in a host-network pod', () => {
    expect(containerJoinModes(ID_A, { ...pod, network: 'NODE' }, null).UTSMode).toBe('host');
  });
});
