import * as protoLoader from '@grpc/proto-loader';
import {
  cachedListSerializer,
  cachedStatusSerializer,
  encodedItem,
  STATUS_FIELDS,
} from '../../src/grpc/list-encoding';
import type { ContainerStatus } from '../../src/generated/runtime/v1/ContainerStatus';
import type { PodSandboxStatus } from '../../src/generated/runtime/v1/PodSandboxStatus';
import { LOADER_OPTIONS, protoPath } from '../../src/grpc/proto';
import { listContainers } from '../../src/translate/container-list';
import type { IndexedContainer } from '../../src/docker/container-index';

describe('cached list encoding', () => {
  const def = protoLoader.loadSync(protoPath(), LOADER_OPTIONS);
  const generic = (def['runtime.v1.RuntimeService'] as protoLoader.ServiceDefinition).ListContainers;

  const entry = (i: number, state = 'running'): IndexedContainer => ({
    id: `${i}`.padStart(64, 'a'),
    name: `k8s_c${i}_pod_ns_uid_0`,
    labels: {
      'io.kubernetes.docker.type': 'container',
      'io.kubernetes.sandbox.id': 'b'.repeat(64),
      'io.kubernetes.container.name': `c${i}`,
      'annotation.kubernetes.io/x': 'y',
      app: 'web',
    },
    state,
    created: 1_700_000_000 + i,
    image: 'busybox:latest',
    imageId: 'sha256:' + 'c'.repeat(64),
  });

  it('writes exactly the bytes of the generic serializer, from the cache too', () => {
    const entries = [entry(1), entry(2, 'exited'), entry(3, 'created')];
    const serialize = cachedListSerializer('runtime.v1.Container', 'containers');
    const first = { containers: listContainers(entries, null) };
    const want = generic.responseSerialize(first);
    expect(serialize(first).equals(want)).toBe(true);
    // Same entries → the same memoized items → cached bytes, still identical.
    const again = { containers: listContainers(entries, null) };
    expect(again.containers[0]).toBe(first.containers[0]);
    expect(serialize(again).equals(want)).toBe(true);
    // A changed entry (a new object in the index) is translated and encoded afresh.
    const changed = [entry(1, 'exited'), entry(2, 'exited'), entry(3, 'created')];
    const next = { containers: listContainers(changed, null) };
    expect(serialize(next).equals(generic.responseSerialize(next))).toBe(true);
    expect(
      (generic.responseDeserialize(serialize(next)) as { containers: Array<{ state: string }> }).containers[0]
        .state,
    ).toBe('CONTAINER_EXITED');
    expect(serialize({ containers: [] }).length).toBe(0);
  });

  it('keeps each item in bytes of its own, not a slice of a shared buffer pool slab', () => {
    // A kept slice would keep node's whole pool slab (64 KiB on Node 26) for a few hundred bytes.
    const [item] = listContainers([entry(7)], null);
    const bytes = encodedItem('runtime.v1.Container', item);
    expect(bytes.byteOffset).toBe(0);
    expect(bytes.buffer.byteLength).toBe(bytes.byteLength);
    expect(encodedItem('runtime.v1.Container', item)).toBe(bytes);
  });
});

describe('cached status encoding', () => {
  const def = protoLoader.loadSync(protoPath(), LOADER_OPTIONS);
  const service = def['runtime.v1.RuntimeService'] as protoLoader.ServiceDefinition;

  const containerStatus = (i: number, exited = false): ContainerStatus => ({
    id: `${i}`.padStart(64, 'a'),
    metadata: { name: `c${i}`, attempt: 1 },
    state: exited ? 'CONTAINER_EXITED' : 'CONTAINER_RUNNING',
    created_at: '1700000000000000000',
    started_at: '1700000001000000000',
    finished_at: exited ? '1700000002000000000' : '0',
    exit_code: exited ? 137 : 0,
    image: { image: 'busybox:latest' },
    image_ref: 'sha256:' + 'c'.repeat(64),
    reason: exited ? 'Error' : '',
    message: exited ? 'killed' : '',
    labels: { 'io.kubernetes.container.name': `c${i}` },
    annotations: { 'io.kubernetes.container.hash': 'abc' },
    mounts: [{ container_path: '/data', host_path: '/var/lib/x', readonly: true }],
    log_path: `/var/log/pods/x/c${i}/1.log`,
    resources: { linux: { cpu_shares: '512', memory_limit_in_bytes: '67108864' } },
    user: { linux: { uid: '0', gid: '0', supplemental_groups: ['10'] } },
  });
  const sandboxStatus: PodSandboxStatus = {
    id: 'b'.repeat(64),
    metadata: { name: 'web', namespace: 'default', uid: 'u-1', attempt: 0 },
    state: 'SANDBOX_READY',
    created_at: '1700000000000000000',
    network: { ip: '172.17.0.2', additional_ips: [] },
    linux: { namespaces: { options: { network: 'POD', pid: 'CONTAINER', ipc: 'POD' } } },
    labels: { app: 'web' },
    annotations: {},
    runtime_handler: '',
  };

  it.each([
    ['ContainerStatus, running', 'ContainerStatus', { status: containerStatus(1), info: {} }],
    ['ContainerStatus, exited', 'ContainerStatus', { status: containerStatus(2, true), info: {} }],
    [
      'ContainerStatus, verbose (encoded as usual)',
      'ContainerStatus',
      { status: containerStatus(3), info: { info: '{"pid":1}' } },
    ],
    [
      'PodSandboxStatus with its containers and a timestamp',
      'PodSandboxStatus',
      {
        status: sandboxStatus,
        info: {},
        containers_statuses: [containerStatus(4), containerStatus(5, true)],
        timestamp: '1700000003000000000',
      },
    ],
    [
      'PodSandboxStatus, no containers, timestamp 0',
      'PodSandboxStatus',
      { status: sandboxStatus, containers_statuses: [], timestamp: '0' },
    ],
    [
      'PodSandboxStatus, verbose (encoded as usual)',
      'PodSandboxStatus',
      {
        status: sandboxStatus,
        info: { info: '{}' },
        containers_statuses: [containerStatus(6)],
        timestamp: '5',
      },
    ],
  ])('%s: exactly the generic serializer’s bytes, first and from the cache', (_what, method, res) => {
    const { responseType, fields } = STATUS_FIELDS[method];
    const serialize = cachedStatusSerializer(responseType, fields);
    const want = service[method].responseSerialize(res);
    expect(serialize(res).equals(want)).toBe(true);
    expect(serialize({ ...res }).equals(want)).toBe(true);
    expect(service[method].responseDeserialize(serialize(res))).toEqual(
      service[method].responseDeserialize(want),
    );
  });
});
