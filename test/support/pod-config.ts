import crypto from 'crypto';
import fs from 'fs';
import os from 'os';
import path from 'path';
import Dockerode from 'dockerode';
import type { CriClient } from './cri-client';

/**
 * Every pod a test file makes carries this owner label: several engineers' suites share one engine,
 * and a sweep must take only what its own file made. Jest loads this module afresh per test file.
 */
export const TEST_OWNER = `${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
export const OWNER_LABEL = 'dcri-test-owner';

/** A PodSandboxConfig as the kubelet would send it, with a unique name, uid and log directory. */
export function podConfig(
  name = 'pod',
  extra: Record<string, unknown> = {},
): Record<string, unknown> & {
  metadata: { name: string; namespace: string; uid: string; attempt: number };
  log_directory: string;
  labels: Record<string, string>;
} {
  const uid = crypto.randomUUID();
  const podName = `${name}-${uid.slice(0, 8)}`;
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dcri-pod-logs-'));
  return {
    metadata: { name: podName, namespace: 'dcri-test', uid, attempt: 0 },
    hostname: podName,
    log_directory: logDir,
    labels: {
      'io.kubernetes.pod.name': podName,
      'io.kubernetes.pod.namespace': 'dcri-test',
      'io.kubernetes.pod.uid': uid,
      'dcri-test': 'yes',
      [OWNER_LABEL]: TEST_OWNER,
    },
    annotations: { 'kubernetes.io/config.source': 'api' },
    linux: {},
    ...extra,
  };
}

/** The test engine's unix socket path (DOCKER_HOST, as scripts/test.sh sets it). */
export function testEngineSocket(): string {
  return (process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock').replace(/^unix:\/\//, '');
}

/** A dockerode client on the test engine, for checks and sweeps behind the shim's back. */
export function testDocker(): Dockerode {
  return new Dockerode({ socketPath: testEngineSocket() });
}

/**
 * Removes the sandboxes this test file made (its owner label) through the CRI, then whatever is
 * still there with Docker directly — the pods' pause containers and every container naming one of
 * them as its sandbox — so that a failing test leaks nothing into the next one.
 */
export async function removeTestPods(client: CriClient, owner = TEST_OWNER): Promise<void> {
  try {
    const res = await client.rt<{ items: Array<{ id: string }> }>('ListPodSandbox', {
      filter: { label_selector: { 'dcri-test': 'yes', [OWNER_LABEL]: owner } },
    });
    for (const p of res.items) {
      await client.rt('RemovePodSandbox', { pod_sandbox_id: p.id }).catch(() => undefined);
    }
  } catch {
    // the shim may be down already; the docker sweep below still runs
  }
  await sweepWithDocker(owner);
}

export async function sweepWithDocker(owner = TEST_OWNER): Promise<void> {
  const docker = testDocker();
  const pods = await docker.listContainers({ all: true, filters: { label: [`${OWNER_LABEL}=${owner}`] } });
  const doomed = new Set(pods.map((p) => p.Id));
  for (const id of [...doomed]) {
    const members = await docker.listContainers({
      all: true,
      filters: { label: [`io.kubernetes.sandbox.id=${id}`] },
    });
    for (const m of members) doomed.add(m.Id);
  }
  await Promise.all(
    [...doomed].map((id) =>
      docker
        .getContainer(id)
        .remove({ force: true, v: true })
        .catch(() => undefined),
    ),
  );
}
