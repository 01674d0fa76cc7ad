import { cgroupDirs, parseProcCgroup } from '../../src/process/runtime-cgroup';

describe('--runtime-cgroups directories', () => {
  it('joins every v1 controller hierarchy but not the ones systemd tracks units with', () => {
    const hybrid = parseProcCgroup(
      [
        '12:name=systemd:/system.slice/x.service',
        '11:cpu,cpuacct:/system.slice',
        '10:memory:/system.slice/x.service',
        '9:net_cls,net_prio:/',
        '0::/system.slice/x.service',
      ].join('\n'),
    );
    expect(cgroupDirs(hybrid, '/runtime')).toEqual([
      '/sys/fs/cgroup/cpu,cpuacct/runtime',
      '/sys/fs/cgroup/memory/runtime',
      '/sys/fs/cgroup/net_cls,net_prio/runtime',
    ]);
  });

  it('joins the unified hierarchy on a cgroup v2 host', () => {
    expect(cgroupDirs(parseProcCgroup('0::/init.scope\n'), '/system.slice/docker-cri')).toEqual([
      '/sys/fs/cgroup/system.slice/docker-cri',
    ]);
  });
});
