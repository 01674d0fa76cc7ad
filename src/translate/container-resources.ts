/**
 * CRI LinuxContainerResources ⇄ Docker HostConfig resource fields. Pure: no I/O.
 *
 * Docker has no field for hugepage limits nor for cgroup v2 `unified` keys: those are kept in a
 * label (so ContainerStatus reports what was asked) and otherwise not applied. CRI uses 0 for
 * "not set", which is also Docker's "no limit", so zeros are left out rather than sent.
 */
import type { HostConfig } from 'dockerode';
import type {
  LinuxContainerResources,
  LinuxContainerResources__Output,
} from '../generated/runtime/v1/LinuxContainerResources';
import { ValidationError } from '../errors';

export type DockerResources = Pick<
  HostConfig,
  | 'CpuPeriod'
  | 'CpuQuota'
  | 'CpuShares'
  | 'Memory'
  | 'MemorySwap'
  | 'CpusetCpus'
  | 'CpusetMems'
  | 'OomScoreAdj'
>;

/** What Docker's update endpoint can change on a live container (OomScoreAdj is create-only). */
export type DockerUpdate = Omit<DockerResources, 'OomScoreAdj'>;

function int(value: string | undefined, field: string): number {
  if (value === undefined || value === '') return 0;
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new ValidationError(`${field} "${value}" is not an integer`);
  return n;
}

const CPUSET = /^(\d+(-\d+)?)(,\d+(-\d+)?)*$/;

function cpuset(value: string, field: string): string | undefined {
  const v = value.trim();
  if (!v) return undefined;
  if (!CPUSET.test(v))
    throw new ValidationError(`${field} "${value}" is not a cpu/memory-node list like "0-2,4"`);
  return v;
}

/**
 * The Docker fields for `res`; `field` is the request path of `res` for error messages, and
 * `clampOom` adapts oom_score_adj to what the host allows.
 */
export function toDockerResources(
  res: LinuxContainerResources__Output | null | undefined,
  field: string,
  clampOom: (v: number) => number = (v) => v,
): DockerResources {
  if (!res) return {};
  const out: DockerResources = {};
  const period = int(res.cpu_period, `${field}.cpu_period`);
  const quota = int(res.cpu_quota, `${field}.cpu_quota`);
  const shares = int(res.cpu_shares, `${field}.cpu_shares`);
  const memory = int(res.memory_limit_in_bytes, `${field}.memory_limit_in_bytes`);
  const swap = int(res.memory_swap_limit_in_bytes, `${field}.memory_swap_limit_in_bytes`);
  const oom = int(res.oom_score_adj, `${field}.oom_score_adj`);
  if (period < 0) throw new ValidationError(`${field}.cpu_period must not be negative`);
  if (shares < 0) throw new ValidationError(`${field}.cpu_shares must not be negative`);
  if (memory < 0) throw new ValidationError(`${field}.memory_limit_in_bytes must not be negative`);
  if (oom < -1000 || oom > 1000)
    throw new ValidationError(`${field}.oom_score_adj must be within -1000..1000`);
  if (period) out.CpuPeriod = period;
  // -1 is "no quota" for the kernel; Docker takes it as such too.
  if (quota) out.CpuQuota = quota;
  if (shares) out.CpuShares = shares;
  if (memory) out.Memory = memory;
  if (swap) {
    if (swap > 0 && memory && swap < memory) {
      throw new ValidationError(
        `${field}.memory_swap_limit_in_bytes (${swap}) must not be below memory_limit_in_bytes (${memory})`,
      );
    }
    out.MemorySwap = swap;
  }
  const cpus = cpuset(res.cpuset_cpus ?? '', `${field}.cpuset_cpus`);
  if (cpus) out.CpusetCpus = cpus;
  const mems = cpuset(res.cpuset_mems ?? '', `${field}.cpuset_mems`);
  if (mems) out.CpusetMems = mems;
  out.OomScoreAdj = clampOom(oom);
  return out;
}

/** The subset of toDockerResources that `docker update` accepts. */
export function toDockerUpdate(
  res: LinuxContainerResources__Output | null | undefined,
  field: string,
): DockerUpdate {
  const all = toDockerResources(res, field);
  delete all.OomScoreAdj;
  return all;
}

/** The label value recording what Docker cannot hold; undefined when there is nothing to keep. */
export function extraResourcesLabel(
  res: LinuxContainerResources__Output | null | undefined,
): string | undefined {
  if (!res) return undefined;
  const hugepages = (res.hugepage_limits ?? []).filter((h) => h.page_size);
  const unified = res.unified ?? {};
  if (!hugepages.length && !Object.keys(unified).length) return undefined;
  return JSON.stringify({ hugepage_limits: hugepages, unified });
}

/** HostConfig (as it is now, after any update) + the recorded extras → CRI resources. */
export function fromDockerResources(
  hc: Partial<HostConfig> | undefined,
  extraLabel?: string,
): LinuxContainerResources {
  const h = hc ?? {};
  const out: LinuxContainerResources = {
    cpu_period: String(h.CpuPeriod ?? 0),
    cpu_quota: String(h.CpuQuota ?? 0),
    cpu_shares: String(h.CpuShares ?? 0),
    memory_limit_in_bytes: String(h.Memory ?? 0),
    memory_swap_limit_in_bytes: String(h.MemorySwap ?? 0),
    oom_score_adj: String(h.OomScoreAdj ?? 0),
    cpuset_cpus: h.CpusetCpus ?? '',
    cpuset_mems: h.CpusetMems ?? '',
    hugepage_limits: [],
    unified: {},
  };
  if (extraLabel) {
    try {
      const extra = JSON.parse(extraLabel) as {
        hugepage_limits?: Array<{ page_size: string; limit: string }>;
        unified?: Record<string, string>;
      };
      out.hugepage_limits = extra.hugepage_limits ?? [];
      out.unified = extra.unified ?? {};
    } catch {
      // a label edited by hand: report what Docker knows
    }
  }
  return out;
}

/**
 * A memory change without a swap limit keeps the container's swap allowance: Docker refuses a
 * memory limit above the memory+swap limit already in place, and an unchanged allowance is what
 * a caller leaving swap out means.
 */
export function swapFollowsMemory(
  update: DockerUpdate,
  current: Partial<HostConfig> | undefined,
): DockerUpdate {
  if (!update.Memory || update.MemorySwap !== undefined) return update;
  const oldMemory = current?.Memory ?? 0;
  const oldSwap = current?.MemorySwap ?? 0;
  if (oldSwap <= 0 || oldMemory <= 0) return update;
  return { ...update, MemorySwap: update.Memory + Math.max(0, oldSwap - oldMemory) };
}
