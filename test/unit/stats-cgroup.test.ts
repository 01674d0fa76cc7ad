import {
  cpuFromFile,
  keyedValues,
  memoryFromFiles,
  nanoCores,
  parseMountinfo,
  parseProcCgroup,
  processCount,
  resolveCgroupDirs,
} from '../../src/translate/stats-cgroup';

const MOUNTINFO_V1 = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime shared:7 - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw`;

const MOUNTINFO_COMBINED = `25 24 0:22 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
26 24 0:23 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory`;

const MOUNTINFO_V2 = `29 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate`;

const ID = 'a'.repeat(64);

describe('cgroup location', () => {
  it('maps each v1 controller of a cgroupfs container to its own mount (hybrid host)', () => {
    const proc = parseProcCgroup(
      `9:name=systemd:/docker/${ID}\n8:pids:/docker/${ID}\n4:memory:/docker/${ID}\n2:cpuacct:/docker/${ID}\n1:cpu:/docker/${ID}\n0::/docker/${ID}\n`,
    );
    expect(resolveCgroupDirs(proc, parseMountinfo(MOUNTINFO_V1))).toEqual({
      version: 1,
      cpu: `/sys/fs/cgroup/cpuacct/docker/${ID}`,
      memory: `/sys/fs/cgroup/memory/docker/${ID}`,
      pids: `/sys/fs/cgroup/pids/docker/${ID}`,
    });
  });

  it('handles co-mounted controllers and the systemd driver', () => {
    const path = `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice/docker-${ID}.scope`;
    const proc = parseProcCgroup(`4:cpu,cpuacct:${path}\n3:memory:${path}\n`);
    expect(resolveCgroupDirs(proc, parseMountinfo(MOUNTINFO_COMBINED))).toEqual({
      version: 1,
      cpu: `/sys/fs/cgroup/cpu,cpuacct${path}`,
      memory: `/sys/fs/cgroup/memory${path}`,
      pids: undefined,
    });
  });

  it('uses the unified hierarchy on a cgroup v2 host', () => {
    const proc = parseProcCgroup(`0::/system.slice/docker-${ID}.scope\n`);
    const dir = `/sys/fs/cgroup/system.slice/docker-${ID}.scope`;
    expect(resolveCgroupDirs(proc, parseMountinfo(MOUNTINFO_V2))).toEqual({
      version: 2,
      cpu: dir,
      memory: dir,
      pids: dir,
    });
  });

  it('strips a mount root that is a prefix of the path (nested cgroup mounts)', () => {
    const mounts = parseMountinfo(`35 31 0:32 /outer /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory`);
    const dirs = resolveCgroupDirs(parseProcCgroup(`4:memory:/outer/docker/${ID}`), mounts);
    expect(dirs?.memory).toBe(`/sys/fs/cgroup/memory/docker/${ID}`);
  });

  it('gives nothing when no hierarchy is mounted', () => {
    expect(resolveCgroupDirs(parseProcCgroup(`0::/x`), parseMountinfo(''))).toBeUndefined();
  });
});

describe('cgroup files → numbers', () => {
  const V1_STAT = `cache 73728\nrss 57344\ntotal_rss 1000\ntotal_inactive_file 300\ntotal_pgfault 1035\ntotal_pgmajfault 1\ninactive_file 7\n`;

  it('v1: working set is usage minus total_inactive_file; available is limit minus working set', () => {
    expect(memoryFromFiles(1, { usage: '5000\n', stat: V1_STAT, limit: '104857600\n' })).toEqual({
      usage: 5000n,
      workingSet: 4700n,
      rss: 1000n,
      pageFaults: 1035n,
      majorPageFaults: 1n,
      available: 104857600n - 4700n,
    });
  });

  it('v1: the "no limit" value gives no available bytes', () => {
    const m = memoryFromFiles(1, { usage: '5000', stat: V1_STAT, limit: '9223372036854771712' });
    expect(m?.available).toBeUndefined();
  });

  it('v2: uses memory.current, inactive_file, anon; "max" is no limit', () => {
    const stat = `anon 4096\nfile 8192\ninactive_file 1024\npgfault 12\npgmajfault 3\n`;
    expect(memoryFromFiles(2, { usage: '10000', stat, limit: 'max\n' })).toEqual({
      usage: 10000n,
      workingSet: 8976n,
      rss: 4096n,
      pageFaults: 12n,
      majorPageFaults: 3n,
      available: undefined,
    });
  });

  it('never lets the working set go below zero', () => {
    expect(memoryFromFiles(1, { usage: '100', stat: 'total_inactive_file 500' })?.workingSet).toBe(0n);
  });

  it('gives no memory sample for an unreadable usage file', () => {
    expect(memoryFromFiles(1, { usage: '', stat: '' })).toBeUndefined();
  });

  it('reads CPU time as ns from cpuacct.usage (v1) and cpu.stat usage_usec (v2)', () => {
    expect(cpuFromFile(1, '24581852\n')).toBe(24581852n);
    expect(cpuFromFile(2, 'usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n')).toBe(1_500_000n);
    expect(cpuFromFile(2, 'nr_periods 0\n')).toBeUndefined();
  });

  it('counts processes from pids.current, or from cgroup.procs lines', () => {
    expect(processCount('3\n', undefined)).toBe(3n);
    expect(processCount(undefined, '10\n11\n\n')).toBe(2n);
    expect(processCount(undefined, undefined)).toBeUndefined();
  });
});

/** The reference: every "key value" line parsed into a map (as docker-cri once read them). */
function everyLine(text: string): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const line of text.split('\n')) {
    const m = /^(\S+)\s+(\d+)\s*$/.exec(line);
    if (m) out.set(m[1], BigInt(m[2]));
  }
  return out;
}

describe('keyedValues: a search for the keys a reading needs', () => {
  // A full v1 memory.stat as a kernel writes it, v2's, and a v2 cpu.stat.
  const V1 =
    [
      'cache 73728',
      'rss 57344',
      'rss_huge 0',
      'shmem 0',
      'mapped_file 0',
      'dirty 0',
      'writeback 0',
      'pgpgin 1035',
      'pgpgout 1003',
      'pgfault 1320',
      'pgmajfault 0',
      'inactive_anon 57344',
      'active_anon 0',
      'inactive_file 73728',
      'active_file 0',
      'unevictable 0',
      'hierarchical_memory_limit 9223372036854771712',
      'total_cache 73728',
      'total_rss 57344',
      'total_rss_huge 2097152',
      'total_pgfault 1320',
      'total_pgmajfault 3',
      'total_inactive_file 73728',
    ].join('\n') + '\n';
  const V2 =
    'anon 1208320\nfile 4096\nanon_thp 0\ninactive_anon 1200128\ninactive_file 4096\npgfault 512\npgmajfault 2\n';
  const CPU = 'usage_usec 31002\nuser_usec 20000\nsystem_usec 11002\nnr_periods 0\n';

  it.each([
    [
      'v1 memory.stat, every key',
      V1,
      V1.split('\n')
        .filter(Boolean)
        .map((l) => l.split(' ')[0]),
    ],
    [
      'v2 memory.stat, every key',
      V2,
      V2.split('\n')
        .filter(Boolean)
        .map((l) => l.split(' ')[0]),
    ],
    ['cpu.stat', CPU, ['usage_usec', 'nr_periods']],
    ['a key that is a prefix of another, and one missing', V1, ['total_rss', 'rss', 'swap', 'total_pg']],
    ['the first line', 'cache 5\ntotal_rss 7', ['cache', 'total_rss']],
    ['tabs, a trailing CR, a line that is no number', 'a\t1\nb 2\r\nc x\n', ['a', 'b', 'c']],
  ])('%s: the same values as parsing every line', (_what, text, keys) => {
    const all = everyLine(text);
    const want = new Map(keys.filter((k) => all.has(k)).map((k) => [k, all.get(k)]));
    expect(keyedValues(text, keys)).toEqual(want);
  });
});

describe('nanoCores', () => {
  it('is CPU ns per wall ns, times 1e9', () => {
    expect(nanoCores({ cpuNs: 0n, atNs: 0n }, { cpuNs: 2_000_000_000n, atNs: 2_000_000_000n })).toBe(
      1_000_000_000n,
    );
    expect(nanoCores({ cpuNs: 100n, atNs: 0n }, { cpuNs: 600n, atNs: 1000n })).toBe(500_000_000n);
  });

  it('is undefined without a previous sample, when time did not move, or when the counter reset', () => {
    expect(nanoCores(undefined, { cpuNs: 5n, atNs: 5n })).toBeUndefined();
    expect(nanoCores({ cpuNs: 1n, atNs: 5n }, { cpuNs: 5n, atNs: 5n })).toBeUndefined();
    expect(nanoCores({ cpuNs: 10n, atNs: 0n }, { cpuNs: 5n, atNs: 5n })).toBeUndefined();
  });
});
