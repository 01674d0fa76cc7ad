import {
  extraResourcesLabel,
  fromDockerResources,
  toDockerResources,
  toDockerUpdate,
  swapFollowsMemory,
} from '../../src/translate/container-resources';
import { resources } from './container-fixtures';

describe('resources ⇄ docker', () => {
  it('maps every field Docker has and leaves zeros out', () => {
    const r = resources({
      cpu_period: 100000,
      cpu_quota: 50000,
      cpu_shares: 512,
      memory_limit_in_bytes: 64 * 1024 * 1024,
      memory_swap_limit_in_bytes: 128 * 1024 * 1024,
      oom_score_adj: 500,
      cpuset_cpus: '0',
      cpuset_mems: '0',
    });
    expect(toDockerResources(r, 'f')).toEqual({
      CpuPeriod: 100000,
      CpuQuota: 50000,
      CpuShares: 512,
      Memory: 64 * 1024 * 1024,
      MemorySwap: 128 * 1024 * 1024,
      OomScoreAdj: 500,
      CpusetCpus: '0',
      CpusetMems: '0',
    });
    expect(toDockerResources(resources({}), 'f')).toEqual({ OomScoreAdj: 0 });
    expect(toDockerResources(null, 'f')).toEqual({});
  });

  it('clamps oom_score_adj through the host policy', () => {
    expect(
      toDockerResources(resources({ oom_score_adj: -998 }), 'f', (v) => Math.max(0, v)).OomScoreAdj,
    ).toBe(0);
    expect(toDockerResources(resources({ oom_score_adj: -998 }), 'f').OomScoreAdj).toBe(-998);
  });

  it('refuses values out of range naming the field', () => {
    expect(() => toDockerResources(resources({ oom_score_adj: 1001 }), 'config.linux.resources')).toThrow(
      /config.linux.resources.oom_score_adj/,
    );
    expect(() => toDockerResources(resources({ memory_limit_in_bytes: -5 }), 'f')).toThrow(
      /f.memory_limit_in_bytes/,
    );
    expect(() =>
      toDockerResources(resources({ memory_limit_in_bytes: 100, memory_swap_limit_in_bytes: 50 }), 'f'),
    ).toThrow(/memory_swap_limit_in_bytes/);
    expect(() => toDockerResources(resources({ cpuset_cpus: 'zero' }), 'f')).toThrow(/f.cpuset_cpus/);
  });

  it('leaves oom_score_adj out of updates (Docker cannot change it on a live container)', () => {
    expect(toDockerUpdate(resources({ cpu_shares: 4, oom_score_adj: 10 }), 'linux')).toEqual({
      CpuShares: 4,
    });
  });

  it('records hugepages and unified, which Docker cannot hold, and reads them back', () => {
    const r = resources({
      memory_limit_in_bytes: 1000000,
      hugepage_limits: [{ page_size: '2MB', limit: 0 }],
      unified: { 'memory.high': '1000' },
    });
    const label = extraResourcesLabel(r);
    expect(label).toBeDefined();
    expect(extraResourcesLabel(resources({}))).toBeUndefined();
    const back = fromDockerResources({ Memory: 1000000, CpuShares: 2, OomScoreAdj: 3 }, label);
    expect(back).toMatchObject({
      memory_limit_in_bytes: '1000000',
      cpu_shares: '2',
      oom_score_adj: '3',
      hugepage_limits: [{ page_size: '2MB', limit: '0' }],
      unified: { 'memory.high': '1000' },
    });
    expect(fromDockerResources(undefined, 'not json').cpu_quota).toBe('0');
  });

  it('keeps the swap allowance when only memory changes', () => {
    expect(swapFollowsMemory({ Memory: 200 }, { Memory: 100, MemorySwap: 100 })).toEqual({
      Memory: 200,
      MemorySwap: 200,
    });
    expect(swapFollowsMemory({ Memory: 200 }, { Memory: 100, MemorySwap: 150 })).toEqual({
      Memory: 200,
      MemorySwap: 250,
    });
    expect(swapFollowsMemory({ Memory: 200 }, { Memory: 100, MemorySwap: -1 })).toEqual({ Memory: 200 });
    expect(swapFollowsMemory({ Memory: 200, MemorySwap: 300 }, { Memory: 100, MemorySwap: 100 })).toEqual({
      Memory: 200,
      MemorySwap: 300,
    });
    expect(swapFollowsMemory({ CpuShares: 2 }, { Memory: 100, MemorySwap: 100 })).toEqual({ CpuShares: 2 });
  });
});
