import * as protoLoader from '@grpc/proto-loader';
import { cachedListSerializer } from '../../src/grpc/list-encoding';
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
});
