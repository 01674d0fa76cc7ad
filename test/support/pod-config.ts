import crypto from 'crypto';
import fs from 'fs';
import os from 'os';
import path from 'path';
import type { CriClient } from './cri-client';

/** A PodSandboxConfig as the kubelet would send it, with a unique name, uid and log directory. */
export function podConfig(name = 'pod', extra: Record<string, unknown> = {}): Record<string, unknown> & {
  metadata: { name: string; namespace: string; uid: string; attempt: number };
  log_directory: string;
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
    },
    annotations: { 'kubernetes.io/config.source': 'api' },
    linux: {},
    ...extra,
  };
}

/**
 * Removes every sandbox the tests made (label dcri-test=yes) through the CRI, then anything
 * left with Docker directly, so that a failing test leaks nothing into the next one.
 */
export async function removeTestPods(client: CriClient): Promise<void> {
  try {
    const res = await client.rt<{ items: Array<{ id: string }> }>('ListPodSandbox', {
      filter: { label_selector: { 'dcri-test': 'yes' } },
    });
    for (const p of res.items) {
      await client.rt('RemovePodSandbox', { pod_sandbox_id: p.id }).catch(() => undefined);
    }
  } catch {
    // ListPodSandbox may not be there yet; the docker sweep below still runs
  }
}
