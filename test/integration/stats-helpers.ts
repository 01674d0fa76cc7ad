import crypto from 'crypto';
import Dockerode from 'dockerode';
import { parseDockerEndpoint } from '../../src/docker/client';

/**
 * Pods made directly with Docker, labelled the way docker-cri labels them, for the stats, events
 * and metrics tests (they do not depend on RunPodSandbox/CreateContainer being there). Every
 * object carries `dcri-test=yes` and a run label, and lives on a network of its own.
 */
export const PAUSE_IMAGE = 'registry.k8s.io/pause:3.10';
export const BUSYBOX = 'busybox:latest';

export function dockerClient(): Dockerode {
  return new Dockerode(parseDockerEndpoint(process.env.DOCKER_HOST as string));
}

export interface TestPod {
  id: string;
  name: string;
  uid: string;
  ip: string;
}

export class PodFactory {
  readonly run = crypto.randomBytes(4).toString('hex');
  readonly network = `dcri-stats-${this.run}`;
  readonly docker = dockerClient();
  private networkReady: Promise<unknown> | undefined;

  private labels(extra: Record<string, string>): Record<string, string> {
    return { 'dcri-test': 'yes', 'dcri-test-run': this.run, ...extra };
  }

  async sandbox(podName = 'pod'): Promise<TestPod> {
    this.networkReady ??= this.docker.createNetwork({
      Name: this.network,
      Labels: this.labels({}),
    });
    await this.networkReady;
    const uid = crypto.randomUUID();
    const name = `${podName}-${uid.slice(0, 8)}`;
    const c = await this.docker.createContainer({
      name: `k8s_POD_${name}_dcri-test_${uid}_0`,
      Image: PAUSE_IMAGE,
      Labels: this.labels({
        'io.kubernetes.docker.type': 'podsandbox',
        'io.kubernetes.container.name': 'POD',
        'io.kubernetes.pod.name': name,
        'io.kubernetes.pod.namespace': 'dcri-test',
        'io.kubernetes.pod.uid': uid,
      }),
      HostConfig: { NetworkMode: this.network, IpcMode: 'shareable' },
    });
    await c.start();
    const info = await c.inspect();
    return { id: c.id, name, uid, ip: info.NetworkSettings.Networks[this.network].IPAddress };
  }

  /** A busybox container in the pod's network namespace; created, and started unless told not to. */
  async container(
    pod: TestPod,
    name: string,
    cmd: string[],
    opts: { start?: boolean; memory?: number; labels?: Record<string, string> } = {},
  ): Promise<string> {
    const c = await this.docker.createContainer({
      name: `k8s_${name}_${pod.name}_dcri-test_${pod.uid}_0`,
      Image: BUSYBOX,
      Cmd: cmd,
      Labels: this.labels({
        'io.kubernetes.docker.type': 'container',
        'io.kubernetes.sandbox.id': pod.id,
        'io.kubernetes.container.name': name,
        'io.kubernetes.pod.name': pod.name,
        'io.kubernetes.pod.namespace': 'dcri-test',
        'io.kubernetes.pod.uid': pod.uid,
        ...opts.labels,
      }),
      HostConfig: {
        NetworkMode: `container:${pod.id}`,
        IpcMode: `container:${pod.id}`,
        Memory: opts.memory,
      },
    });
    if (opts.start !== false) await c.start();
    return c.id;
  }

  /** Removes everything this factory made, whatever state it is in. */
  async cleanup(): Promise<void> {
    const list = await this.docker.listContainers({
      all: true,
      filters: { label: [`dcri-test-run=${this.run}`] },
    });
    // Workload containers first: a sandbox whose namespaces are joined cannot go before them.
    list.sort(
      (a, b) =>
        Number(a.Labels['io.kubernetes.docker.type'] === 'podsandbox') -
        Number(b.Labels['io.kubernetes.docker.type'] === 'podsandbox'),
    );
    for (const c of list) {
      await this.docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => undefined);
    }
    if (this.networkReady) {
      await this.docker
        .getNetwork(this.network)
        .remove()
        .catch(() => undefined);
    }
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls until `check` returns a value (not undefined), or fails after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}
