import crypto from 'crypto';
import type { RunPodSandboxRequest__Output } from '../../src/generated/runtime/v1/RunPodSandboxRequest';
import type { CreateContainerRequest__Output } from '../../src/generated/runtime/v1/CreateContainerRequest';
import { runPodSandbox } from '../../src/runtime/sandbox-run';
import { createContainer } from '../../src/runtime/container-create';
import { startContainer } from '../../src/runtime/container-start';
import type { StartContainerRequest__Output } from '../../src/generated/runtime/v1/StartContainerRequest';
import type { StreamingServer } from '../../src/streaming/server';
import type { StreamTarget } from '../../src/streaming/requests';
import { callContext, criRequest, type FakeWorld } from './fake-deps';

export const PAUSE_IMAGE = 'registry.k8s.io/pause:3.10';
export const APP_IMAGE = 'busybox:latest';

/** A PodSandboxConfig as the kubelet sends it (plain fields; criRequest fills the defaults). */
export function sandboxConfig(name = 'pod', extra: Record<string, unknown> = {}): Record<string, unknown> {
  const uid = crypto.randomUUID();
  return {
    metadata: { name, namespace: 'default', uid, attempt: 0 },
    hostname: name,
    log_directory: `/var/log/pods/default_${name}_${uid}`,
    labels: { app: name },
    annotations: { 'kubernetes.io/config.source': 'api' },
    linux: {},
    ...extra,
  };
}

export function containerConfig(name = 'app', extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    metadata: { name, attempt: 0 },
    image: { image: APP_IMAGE },
    command: ['sleep', '3600'],
    log_path: `${name}/0.log`,
    labels: { tier: name },
    ...extra,
  };
}

/** The pause and app images, as a node that has pulled them. */
export function withImages(world: FakeWorld): FakeWorld {
  world.fake.addImage(PAUSE_IMAGE);
  world.fake.addImage(APP_IMAGE, { Config: { User: '1000' } });
  return world;
}

export async function runSandbox(world: FakeWorld, config = sandboxConfig()): Promise<string> {
  const req = criRequest<RunPodSandboxRequest__Output>('RunPodSandboxRequest', { config });
  const res = await runPodSandbox(world.deps)(req, callContext());
  return res.pod_sandbox_id!;
}

export async function createIn(
  world: FakeWorld,
  sandboxId: string,
  config = containerConfig(),
  sandbox = sandboxConfig(),
): Promise<string> {
  const req = criRequest<CreateContainerRequest__Output>('CreateContainerRequest', {
    pod_sandbox_id: sandboxId,
    config,
    sandbox_config: sandbox,
  });
  const res = await createContainer(world.deps)(req, callContext());
  return res.container_id!;
}

/** A running workload container in a new ready pod: answers both ids. */
export async function runningContainer(world: FakeWorld): Promise<{ sandboxId: string; id: string }> {
  const sandboxId = await runSandbox(world);
  const id = await createIn(world, sandboxId);
  await startContainer(world.deps)(
    criRequest<StartContainerRequest__Output>('StartContainerRequest', { container_id: id }),
    callContext(),
  );
  return { sandboxId, id };
}

/** Two running pods, the second with a created `sidecar` beside its running container. */
export async function twoPodsAndASidecar(w: FakeWorld) {
  const a = await runningContainer(w);
  const b = await runningContainer(w);
  const sidecar = await createIn(w, b.sandboxId, containerConfig('sidecar'));
  return { w, a, b, sidecar };
}

/** A streaming server that hands out numbered URLs and remembers what they were for. */
export function withStreaming(world: FakeWorld, capacity = 10): StreamTarget[] {
  const targets: StreamTarget[] = [];
  world.deps.streaming = {
    urlFor(t: StreamTarget) {
      if (targets.length >= capacity) return undefined;
      targets.push(t);
      return `http://127.0.0.1:1/${targets.length}`;
    },
  } as unknown as StreamingServer;
  return targets;
}
