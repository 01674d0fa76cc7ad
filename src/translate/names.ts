/**
 * Docker container names in dockershim's form, which is also how the CRI metadata of containers
 * made by dockershim or cri-dockerd is recovered:
 *   sandbox:   k8s_POD_<pod>_<namespace>_<uid>_<attempt>
 *   container: k8s_<container>_<pod>_<namespace>_<uid>_<attempt>
 * A `_<random>` suffix may follow (dockershim added one on a name conflict; docker-cri never does,
 * see docker/named-create.ts). Kubernetes names and uids hold no
 * underscore, so splitting on `_` is safe. Pure: no I/O.
 */
export const NAME_PREFIX = 'k8s';
export const SANDBOX_NAME = 'POD';

export interface SandboxNameParts {
  name: string;
  namespace: string;
  uid: string;
  attempt: number;
}

export interface ContainerNameParts {
  containerName: string;
  podName: string;
  namespace: string;
  uid: string;
  attempt: number;
}

export function sandboxName(meta: SandboxNameParts): string {
  return [NAME_PREFIX, SANDBOX_NAME, meta.name, meta.namespace, meta.uid, String(meta.attempt)].join('_');
}

export function containerName(meta: ContainerNameParts): string {
  return [NAME_PREFIX, meta.containerName, meta.podName, meta.namespace, meta.uid, String(meta.attempt)].join(
    '_',
  );
}

function split(name: string): string[] | undefined {
  const parts = name.replace(/^\//, '').split('_');
  if (parts[0] !== NAME_PREFIX || (parts.length !== 6 && parts.length !== 7)) return undefined;
  if (!/^\d+$/.test(parts[5])) return undefined;
  return parts;
}

export function parseSandboxName(name: string): SandboxNameParts | undefined {
  const p = split(name);
  if (!p || p[1] !== SANDBOX_NAME) return undefined;
  return { name: p[2], namespace: p[3], uid: p[4], attempt: Number(p[5]) };
}

export function parseContainerName(name: string): ContainerNameParts | undefined {
  const p = split(name);
  if (!p) return undefined;
  return { containerName: p[1], podName: p[2], namespace: p[3], uid: p[4], attempt: Number(p[5]) };
}

/** The name with a random suffix, as dockershim made on a conflict (kept for parsing its names). */
export function withRandomSuffix(name: string): string {
  return `${name}_${Math.floor(Math.random() * 0xffffffff)
    .toString(16)
    .padStart(8, '0')}`;
}
