import crypto from 'crypto';
import type Dockerode from 'dockerode';

/**
 * Containers for the streaming tests, made with Docker directly so that these tests need nothing
 * but the engine. Everything carries dcri-test=yes and a unique name, and `removeAll` takes it away.
 */
export class StreamingFixtures {
  private readonly made: string[] = [];
  readonly tag = crypto.randomBytes(4).toString('hex');

  constructor(private readonly docker: Dockerode) {}

  async container(
    name: string,
    cmd: string[],
    extra: Dockerode.ContainerCreateOptions = {},
  ): Promise<string> {
    const c = await this.docker.createContainer({
      Image: 'busybox:latest',
      name: `dcri-stream-${name}-${this.tag}`,
      Cmd: cmd,
      Labels: { 'dcri-test': 'yes', 'io.kubernetes.docker.type': 'container' },
      ...extra,
    });
    this.made.push(c.id);
    await c.start();
    return c.id;
  }

  /** A pause container holding a pod's namespaces, as RunPodSandbox makes it. */
  async sandbox(name: string): Promise<string> {
    const c = await this.docker.createContainer({
      Image: 'registry.k8s.io/pause:3.10',
      name: `dcri-stream-${name}-${this.tag}`,
      Labels: { 'dcri-test': 'yes', 'io.kubernetes.docker.type': 'podsandbox' },
    });
    this.made.unshift(c.id);
    await c.start();
    return c.id;
  }

  /** A busybox container in the sandbox's network namespace. */
  async inPod(sandboxId: string, name: string, cmd: string[]): Promise<string> {
    return this.container(name, cmd, { HostConfig: { NetworkMode: `container:${sandboxId}` } });
  }

  async removeAll(): Promise<void> {
    // Pod members first, their sandbox after (sandboxes were put at the front).
    for (const id of [...this.made].reverse()) {
      await this.docker
        .getContainer(id)
        .remove({ force: true })
        .catch(() => undefined);
    }
    this.made.length = 0;
  }
}

/** Resolves once `check` passes; the jest timeout bounds the wait. */
export async function eventually(check: () => Promise<boolean>, intervalMs = 100): Promise<void> {
  for (;;) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
