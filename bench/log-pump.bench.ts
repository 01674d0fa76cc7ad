/**
 * Log pump throughput and CPU, beside Docker's own json-file logging of the same output.
 *
 * A busybox container prints LOG_BENCH_MB MiB (default 100) of 100-byte lines as fast as it can.
 *   docker only  : no pump; Docker's json-file logging alone (wall time to exit, dockerd CPU).
 *   live pump    : the same, with a LogPump (in this process, so process.cpuUsage() is the pump's
 *                  own CPU) following the container into a CRI file.
 *   drain        : a pump over the exited container's stored log: the pump's ceiling when the
 *                  container is not the bottleneck.
 * Each pump run twice: reading the json-file directly (the default), and through Docker's log API
 * (the fallback for other drivers), where dockerd CPU includes serving the log stream.
 * The containers carry no log-path label, so no docker-cri process on the engine pumps them too.
 * Prints a table and writes bench/results/log-pump.json.
 */
import crypto from 'crypto';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { DockerClient } from '../src/docker/client';
import { DockerEngine } from '../src/docker/docker-engine';
import { LogPump } from '../src/logs/log-pump';
import { tellStops } from '../test/support/pump-stops';
import { docker, RESULTS } from './support';

const MIB = 1024 * 1024;
const MB = Number(process.env.LOG_BENCH_MB ?? 100);
const LINE = 100; // bytes per line, newline included
const CRI_LINE = 30 + 10 + LINE; // timestamp, " stdout F ", message and newline

const TICKS = 100; // USER_HZ on Linux

function cpuSecondsOf(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS; // utime + stime
}

/** The dockerd behind DOCKER_HOST: the one whose command line names its socket, else the only one. */
function dockerdPid(): number | undefined {
  const sock = (process.env.DOCKER_HOST ?? '').replace(/^unix:\/\//, '');
  const found: Array<{ pid: number; cmd: string }> = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').join(' ');
      if (/(^|\/)dockerd(\s|$)/.test(cmd.split(' ')[0])) found.push({ pid: Number(d), cmd });
    } catch {
      // gone meanwhile
    }
  }
  const bySock = found.find((f) => sock && f.cmd.includes(sock));
  return bySock?.pid ?? (found.length === 1 ? found[0].pid : undefined);
}

function thisCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

interface Row {
  run: string;
  seconds: number;
  mbPerSecond: number;
  pumpCpuSecondsPerMB: number | null;
  dockerdCpuSecondsPerMB: number | null;
  bytesOut: number;
}

async function main(): Promise<void> {
  const d = docker();
  const client = new DockerClient(process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock', 120_000);
  const engine = new DockerEngine(client);
  const dpid = dockerdPid();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dcri-bench-logs-'));
  const made: string[] = [];
  const lines = Math.floor((MB * MIB) / LINE);
  const script = `yes "$(printf '%0${LINE - 1}d' 0)" | head -n ${lines}`;
  const rows: Row[] = [];
  const dockerdCpu = (): number => (dpid ? cpuSecondsOf(dpid) : NaN);
  const perMB = (cpu: number): number | null => (Number.isFinite(cpu) ? cpu / MB : null);

  const create = async () => {
    const c = await d.createContainer({
      name: `dcri-bench-logs-${crypto.randomBytes(5).toString('hex')}`,
      Image: 'busybox:latest',
      Cmd: ['sh', '-c', script],
      Labels: { 'dcri-bench': 'yes' },
      HostConfig: { LogConfig: { Type: 'json-file', Config: {} } },
    });
    made.push(c.id);
    return c;
  };

  try {
    // 1. Docker alone.
    {
      const c = await create();
      const d0 = dockerdCpu();
      const t0 = process.hrtime.bigint();
      await c.start();
      await c.wait();
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      const info = await c.inspect();
      rows.push({
        run: 'docker only (json-file)',
        seconds,
        mbPerSecond: MB / seconds,
        pumpCpuSecondsPerMB: null,
        dockerdCpuSecondsPerMB: perMB(dockerdCpu() - d0),
        bytesOut: fs.statSync(info.LogPath).size,
      });
    }

    // 2. With a live pump, and 3. a pump draining the stored log; from the file, then the API.
    let exitedId = '';
    const runs: Array<[string, 'auto' | 'api']> = [
      ['live pump (json-file)', 'auto'],
      ['drain (json-file)', 'auto'],
      ['live pump (log API)', 'api'],
      ['drain (log API)', 'api'],
    ];
    for (const [run, source] of runs) {
      const live = run.startsWith('live');
      const c = live ? await create() : d.getContainer(exitedId);
      const logPath = path.join(dir, `${live ? 'live' : 'drain'}.log`);
      const d0 = dockerdCpu();
      const c0 = thisCpuSeconds();
      const t0 = process.hrtime.bigint();
      if (live) await c.start();
      const pump = tellStops(
        new LogPump({
          id: c.id,
          logPath,
          posFile: path.join(dir, `${c.id}.pos`),
          engine,
          source,
        }),
        d,
        c.id,
      );
      const end = await pump.done;
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      const size = fs.statSync(logPath).size;
      if (end !== 'complete' || size !== lines * CRI_LINE) {
        throw new Error(`${run}: pump ended ${end} with ${size} bytes, expected ${lines * CRI_LINE}`);
      }
      if (pump.via !== (source === 'api' ? 'api' : 'json-file'))
        throw new Error(`${run}: read via ${pump.via}`);
      rows.push({
        run,
        seconds,
        mbPerSecond: MB / seconds,
        pumpCpuSecondsPerMB: perMB(thisCpuSeconds() - c0),
        dockerdCpuSecondsPerMB: perMB(dockerdCpu() - d0),
        bytesOut: size,
      });
      exitedId = c.id;
      fs.rmSync(logPath, { force: true });
    }
  } finally {
    for (const id of made)
      await d
        .getContainer(id)
        .remove({ force: true })
        .catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  }

  const fmt = (n: number | null, digits: number): string => (n === null ? '-' : n.toFixed(digits));
  console.log(`log pump: ${MB} MiB of ${LINE}-byte lines from one container (MB = MiB of container output)`);
  console.log(
    ['run'.padEnd(26), 'seconds', '  MB/s', 'pump CPU s/MB', 'dockerd CPU s/MB', 'file bytes'].join('  '),
  );
  for (const r of rows) {
    console.log(
      [
        r.run.padEnd(26),
        fmt(r.seconds, 2).padStart(7),
        fmt(r.mbPerSecond, 1).padStart(6),
        fmt(r.pumpCpuSecondsPerMB, 4).padStart(13),
        fmt(r.dockerdCpuSecondsPerMB, 4).padStart(16),
        String(r.bytesOut).padStart(10),
      ].join('  '),
    );
  }
  fs.mkdirSync(RESULTS, { recursive: true });
  fs.writeFileSync(
    path.join(RESULTS, 'log-pump.json'),
    JSON.stringify(
      {
        mb: MB,
        lineBytes: LINE,
        dockerdPid: dpid ?? null,
        cpus: os.cpus().length,
        rows,
        at: new Date().toISOString(),
      },
      null,
      2,
    ) + '\n',
  );
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
