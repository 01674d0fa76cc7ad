import type { IndexedContainer } from '../../src/docker/container-index';
import type { StatsCollector } from '../../src/stats/collector';
import type { CgroupSample, LayerSample } from '../../src/translate/stats-cri';
import type { NetInterfaceSample } from '../../src/translate/stats-net';
import type { FakeWorld } from './fake-deps';

/**
 * Stats readings for handler tests, in place of the cgroup files: every container (pause ones too)
 * reads `cpuNs` (1000 ns unless set) and 1 MiB of memory; a pod has its own cgroup reading only
 * when `podCpuNs` has it; every pod's network is one eth0.
 */
export interface FakeStats {
  cpuNs: Map<string, bigint>;
  podCpuNs: Map<string, bigint>;
  /** Ids whose readings were asked for, in order. */
  reads: string[];
  /** When set, every container reading fails with it. */
  failure?: Error;
  /** When set, every container reading waits for it. */
  gate?: Promise<void>;
}

const AT = 1_700_000_000_000_000_000n;
const MIB = 1024n * 1024n;

function reading(cpuNs: bigint): CgroupSample {
  return {
    atNs: AT,
    cpuNs,
    memory: { usage: MIB, workingSet: MIB, rss: MIB, pageFaults: 1n, majorPageFaults: 0n },
  };
}

/** Puts a FakeStats behind world.deps.stats; answers it, for the test to steer. */
export function withFakeStats(world: FakeWorld): FakeStats {
  const state: FakeStats = { cpuNs: new Map(), podCpuNs: new Map(), reads: [] };
  const collector = {
    async sample(c: IndexedContainer): Promise<CgroupSample | undefined> {
      state.reads.push(c.id);
      await state.gate;
      if (state.failure) throw state.failure;
      return reading(state.cpuNs.get(c.id) ?? 1000n);
    },
    layer(id: string): LayerSample | undefined {
      return { atNs: AT, mountpoint: `/fake/layers/${id}`, bytes: 4096n, inodes: 3n };
    },
    async podSample(sandbox: IndexedContainer): Promise<CgroupSample | undefined> {
      const own = state.podCpuNs.get(sandbox.id);
      return own === undefined ? undefined : reading(own);
    },
    async network(sandbox: IndexedContainer): Promise<NetInterfaceSample[] | undefined> {
      if (sandbox.state !== 'running') return undefined;
      return [{ name: 'eth0', rxBytes: 100n, rxErrors: 0n, txBytes: 200n, txErrors: 0n }];
    },
  };
  // Only the readings handlers take; the collector's own lifecycle is not part of this world.
  world.deps.stats = collector as unknown as StatsCollector;
  return state;
}
