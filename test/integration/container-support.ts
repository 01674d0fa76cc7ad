import type { TestShim } from '../support/shim';
import { podConfig } from '../support/pod-config';

/** Helpers of the container tests: pods and containers made through the CRI, as the kubelet would. */

export interface CriContainerStatus {
  id: string;
  metadata: { name: string; attempt: number };
  state: string;
  created_at: string;
  started_at: string;
  finished_at: string;
  exit_code: number;
  image: { image: string; user_specified_image: string };
  image_ref: string;
  image_id: string;
  reason: string;
  message: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  mounts: Array<{ container_path: string; host_path: string; readonly: boolean; propagation: string }>;
  log_path: string;
  resources: { linux: Record<string, unknown> | null } | null;
  user: { linux: { uid: string; gid: string; supplemental_groups: string[] } | null } | null;
}

export interface CriContainer {
  id: string;
  pod_sandbox_id: string;
  metadata: { name: string; attempt: number };
  state: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  image: { image: string };
  image_ref: string;
}

export interface Pod {
  id: string;
  config: ReturnType<typeof podConfig>;
}

export interface ExecResult {
  stdout: Buffer;
  stderr: Buffer;
  exit_code: number;
}

let seq = 0;

/** Pods and containers through one shim; every pod is made with podConfig (removed by removeTestPods). */
export class Cri {
  constructor(private readonly shim: TestShim) {}

  async pod(name = 'ctr', extra: Record<string, unknown> = {}): Promise<Pod> {
    const config = podConfig(name, extra);
    const res = await this.shim.client.rt<{ pod_sandbox_id: string }>('RunPodSandbox', { config });
    return { id: res.pod_sandbox_id, config };
  }

  /** A ContainerConfig as the kubelet sends it, busybox by default, merged with `extra`. */
  config(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      metadata: { name, attempt: 0 },
      image: { image: 'busybox:latest' },
      labels: { 'io.kubernetes.container.name': name, 'dcri-test': 'yes' },
      annotations: {},
      log_path: `${name}/0.log`,
      linux: {},
      ...extra,
    };
  }

  async create(pod: Pod, extra: Record<string, unknown> = {}, name?: string): Promise<string> {
    const config = this.config(name ?? `c${++seq}`, extra);
    const res = await this.shim.client.rt<{ container_id: string }>('CreateContainer', {
      pod_sandbox_id: pod.id,
      config,
      sandbox_config: pod.config,
    });
    return res.container_id;
  }

  /** Create and start a container running `script` under sh. */
  async run(pod: Pod, script: string, extra: Record<string, unknown> = {}): Promise<string> {
    const id = await this.create(pod, { command: ['sh', '-c', script], ...extra });
    await this.start(id);
    return id;
  }

  start(id: string): Promise<unknown> {
    return this.shim.client.rt('StartContainer', { container_id: id });
  }

  async status(
    id: string,
    verbose = false,
  ): Promise<{ status: CriContainerStatus; info: Record<string, string> }> {
    return this.shim.client.rt('ContainerStatus', { container_id: id, verbose });
  }

  async list(filter: object = {}): Promise<CriContainer[]> {
    return (await this.shim.client.rt<{ containers: CriContainer[] }>('ListContainers', { filter }))
      .containers;
  }

  exec(id: string, cmd: string[], timeout = 0, callTimeoutMs = 60_000): Promise<ExecResult> {
    return this.shim.client.rt<ExecResult>('ExecSync', { container_id: id, cmd, timeout }, callTimeoutMs);
  }

  /** stdout of a shell command in the container, which must exit 0. */
  async sh(id: string, script: string): Promise<string> {
    const r = await this.exec(id, ['sh', '-c', script], 30);
    if (r.exit_code !== 0) {
      throw new Error(`"${script}" exited ${r.exit_code}: ${r.stderr.toString()} ${r.stdout.toString()}`);
    }
    return r.stdout.toString();
  }

  /** Polls ContainerStatus until the container has exited (the test's own timeout bounds it). */
  async waitExited(id: string): Promise<CriContainerStatus> {
    for (;;) {
      const { status } = await this.status(id);
      if (status.state === 'CONTAINER_EXITED') return status;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
