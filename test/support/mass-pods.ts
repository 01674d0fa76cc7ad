import crypto from 'crypto';
import type Dockerode from 'dockerode';
import { mapBounded } from '../../src/runtime/container-stats';
import { OWNER_LABEL } from './pod-config';

/** The label every mass-made container carries, valued with its batch's id. */
export const MASS_LABEL = 'dcri-mass';

export interface MassPods {
  batch: string;
  sandboxIds: string[];
  containerIds: string[];
}

/** A batch id; choose it before creating so that a failed creation can still be cleaned up. */
export function newMassBatch(): string {
  return crypto.randomBytes(4).toString('hex');
}

/**
 * `count` pods of one container each, made cheaply: `docker create` of busybox (never started) with
 * the labels and names docker-cri indexes, as dockershim would have left them. Lists, streams and
 * stats then see `count` sandboxes and `count` containers, all selectable by `{ [MASS_LABEL]: batch }`.
 */
export async function createMassPods(
  docker: Dockerode,
  count: number,
  owner: string,
  batch = newMassBatch(),
): Promise<MassPods> {
  const common = { [MASS_LABEL]: batch, [OWNER_LABEL]: owner, 'io.kubernetes.pod.namespace': 'dcri-mass' };
  const create = async (name: string, labels: Record<string, string>): Promise<string> => {
    const c = await docker.createContainer({
      name,
      Image: 'busybox:latest',
      Cmd: ['true'],
      Labels: { ...common, ...labels },
      HostConfig: { NetworkMode: 'none' },
    });
    return c.id;
  };
  const indexes = Array.from({ length: count }, (_, i) => i);
  const sandboxIds = await mapBounded(indexes, 8, (i) => {
    const uid = `${batch}-${i}`;
    return create(`k8s_POD_mass${i}_dcri-mass_${uid}_0`, {
      'io.kubernetes.docker.type': 'podsandbox',
      'io.kubernetes.container.name': 'POD',
      'io.kubernetes.pod.name': `mass${i}`,
      'io.kubernetes.pod.uid': uid,
    });
  });
  const containerIds = await mapBounded(indexes, 8, (i) => {
    const uid = `${batch}-${i}`;
    return create(`k8s_c_mass${i}_dcri-mass_${uid}_0`, {
      'io.kubernetes.docker.type': 'container',
      'io.kubernetes.sandbox.id': sandboxIds[i],
      'io.kubernetes.container.name': 'c',
      'io.kubernetes.pod.name': `mass${i}`,
      'io.kubernetes.pod.uid': uid,
    });
  });
  return { batch, sandboxIds, containerIds };
}

/** Removes every container of one batch (whatever the test got to make). */
export async function removeMassPods(docker: Dockerode, batch: string): Promise<void> {
  const all = await docker.listContainers({ all: true, filters: { label: [`${MASS_LABEL}=${batch}`] } });
  await mapBounded(all, 8, (c) =>
    docker
      .getContainer(c.Id)
      .remove({ force: true, v: true })
      .catch(() => undefined),
  );
}
