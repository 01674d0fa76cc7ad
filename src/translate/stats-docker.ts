/**
 * Docker's own stats answer (GET /containers/<id>/stats, one-shot) → our samples: the fallback for
 * when a container's cgroup files cannot be found. Pure.
 */
import type { CgroupSample } from './stats-cri';
import type { NetInterfaceSample } from './stats-net';
import { rfc3339ToNanos } from './time';

/** The parts of Docker's stats JSON we read (cgroup v1 and v2 engines fill memory_stats.stats differently). */
export interface DockerStatsJson {
  read?: string;
  cpu_stats?: { cpu_usage?: { total_usage?: number } };
  memory_stats?: { usage?: number; limit?: number; stats?: Record<string, number> };
  pids_stats?: { current?: number };
  networks?: Record<string, { rx_bytes?: number; rx_errors?: number; tx_bytes?: number; tx_errors?: number }>;
}

const big = (n: number | undefined): bigint | undefined =>
  typeof n === 'number' && Number.isFinite(n) && n >= 0 ? BigInt(Math.round(n)) : undefined;
const sub = (a: bigint, b: bigint): bigint => (a > b ? a - b : 0n);

export function sampleFromDockerStats(s: DockerStatsJson, fallbackNowNs: bigint): CgroupSample {
  const read = rfc3339ToNanos(s.read);
  const out: CgroupSample = { atNs: read === '0' ? fallbackNowNs : BigInt(read) };
  out.cpuNs = big(s.cpu_stats?.cpu_usage?.total_usage);
  out.processes = big(s.pids_stats?.current);
  const mem = s.memory_stats;
  const usage = big(mem?.usage);
  if (mem && usage !== undefined) {
    const st = mem.stats ?? {};
    // v1 engines report total_* keys; v2 engines report the plain cgroup v2 keys.
    const v1 = 'total_inactive_file' in st || 'total_rss' in st;
    const pick = (v1Key: string, v2Key: string): bigint => big(v1 ? st[v1Key] : st[v2Key]) ?? 0n;
    const workingSet = sub(usage, pick('total_inactive_file', 'inactive_file'));
    const limit = big(mem.limit);
    out.memory = {
      usage,
      workingSet,
      rss: pick('total_rss', 'anon'),
      pageFaults: pick('total_pgfault', 'pgfault'),
      majorPageFaults: pick('total_pgmajfault', 'pgmajfault'),
      // Docker reports the host's memory as the limit when there is none; it still bounds the container.
      available: limit !== undefined && limit > 0n ? sub(limit, workingSet) : undefined,
    };
  }
  return out;
}

export function networkFromDockerStats(s: DockerStatsJson): NetInterfaceSample[] | undefined {
  if (!s.networks) return undefined;
  return Object.entries(s.networks).map(([name, n]) => ({
    name,
    rxBytes: big(n.rx_bytes) ?? 0n,
    rxErrors: big(n.rx_errors) ?? 0n,
    txBytes: big(n.tx_bytes) ?? 0n,
    txErrors: big(n.tx_errors) ?? 0n,
  }));
}
