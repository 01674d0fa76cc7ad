import path from 'path';
import { CgroupReader } from '../../src/stats/cgroups';
import { parsePressure } from '../../src/translate/stats-psi';
import { containerStats, cpuUsage, ioUsage, memoryUsage } from '../../src/translate/stats-cri';

const V2 = path.join(__dirname, 'fixtures/cgroup-v2-pod');

describe('PSI from cgroup v2 pressure files', () => {
  it('parses some and full lines; total in microseconds as a decimal string', () => {
    expect(parsePressure('some avg10=1.50 avg60=0.75 avg300=0.20 total=123456\n')).toEqual({
      Some: { Total: '123456', Avg10: 1.5, Avg60: 0.75, Avg300: 0.2 },
    });
    expect(parsePressure('')).toBeUndefined();
    expect(parsePressure(undefined)).toBeUndefined();
    expect(parsePressure('garbage\n')).toBeUndefined();
  });

  it('a v2 cgroup reading carries cpu, memory and io pressure into ContainerStats', async () => {
    const s = await new CgroupReader().read({ version: 2, cpu: V2, memory: V2, pids: V2 }, 1_000n);
    expect(s?.psi?.io?.Some).toEqual({ Total: '9999999999', Avg10: 12.34, Avg60: 5.67, Avg300: 1 });
    expect(cpuUsage(s!)?.psi).toEqual({
      Some: { Total: '123456', Avg10: 1.5, Avg60: 0.75, Avg300: 0.2 },
      Full: { Total: '65432', Avg10: 0.5, Avg60: 0.25, Avg300: 0.05 },
    });
    expect(memoryUsage(s!)?.psi?.Full?.Total).toBe('7');
    expect(ioUsage(s!)).toEqual({ timestamp: '1000', psi: s!.psi!.io });
    const stats = containerStats({ id: 'a'.repeat(64), name: 'k8s_c_p_n_u_0', labels: {} }, s, undefined);
    expect(stats.io?.psi?.Full?.Total).toBe('8888888888');
  });

  it('a reading without pressure (cgroup v1 has no such files) leaves PSI and io unset', async () => {
    const s = await new CgroupReader().read({ version: 2, cpu: V2, memory: V2 }, 1_000n);
    const noPsi = { ...s!, psi: undefined };
    expect(cpuUsage(noPsi)).not.toHaveProperty('psi');
    expect(ioUsage(noPsi)).toBeNull();
    expect(
      containerStats({ id: 'b'.repeat(64), name: 'x', labels: {} }, noPsi, undefined),
    ).not.toHaveProperty('io');
  });
});
