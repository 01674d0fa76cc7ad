import { spawn } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { CriClient } from '../test/support/cri-client';
import {
  engineDescription,
  printTable,
  removeByLabel,
  runPool,
  shimCommand,
  sleep,
  uid,
  writeResults,
  type Row,
} from './support';

/**
 * Leak soak (npm run soak): many pod lifecycles with exec, logs and stats calls in between. The shim
 * runs with --expose-gc; on SIGUSR2 it collects and logs its memory, open files and active handles.
 * Pass (after a GC each time): RSS after the last lifecycle within 5 MiB of RSS after the first 100,
 * idle RSS once every pod is gone within 5 MiB of RSS at the start, and no growth of file
 * descriptors or timers.
 */
const TOTAL = Number(process.env.SOAK_PODS ?? 1000);
const BASELINE_AT = 100;
const CONCURRENCY = 4;
const LABEL = 'dcri-soak=yes';

interface Report {
  memory: { rss: number; heapUsed: number };
  fds: number;
  activeResources: Record<string, number>;
}

async function main(): Promise<void> {
  await removeByLabel(LABEL);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dcri-soak-'));
  const sock = path.join(dir, 'cri.sock');
  let stderr = '';
  // The shipped executable unless BENCH_TARGET=dist; SOAK_NODE_ARGS: more node flags for the shim.
  const cmd = shimCommand(
    ['--expose-gc', ...(process.env.SOAK_NODE_ARGS ?? '').split(' ').filter(Boolean)],
    ['--container-runtime-endpoint', `unix://${sock}`, '--root-directory', path.join(dir, 'root')],
  );
  const child = spawn(cmd.command, cmd.args, { stdio: ['ignore', 'ignore', 'pipe'], env: cmd.env });
  const logCopy = process.env.SOAK_LOG ? fs.createWriteStream(process.env.SOAK_LOG) : undefined;
  child.stderr!.on('data', (d) => {
    logCopy?.write(d);
    stderr += d;
    if (stderr.length > 4_000_000) stderr = stderr.slice(-1_000_000);
  });
  while (!fs.existsSync(sock)) await sleep(50);
  const client = new CriClient(sock);

  const report = async (): Promise<Report> => {
    stderr = '';
    child.kill('SIGUSR2');
    for (let i = 0; i < 100; i++) {
      await sleep(100);
      const line = stderr.split('\n').find((l) => l.includes('"message":"resources"'));
      if (line) return JSON.parse(line) as Report;
    }
    throw new Error('no resources report');
  };

  const lifecycle = async (): Promise<void> => {
    const id = uid();
    const name = `soak-${id.slice(0, 8)}`;
    const config = {
      metadata: { name, namespace: 'dcri-soak', uid: id, attempt: 0 },
      log_directory: path.join(dir, 'logs', id),
      labels: { 'dcri-soak': 'yes' },
      linux: {},
    };
    fs.mkdirSync(config.log_directory, { recursive: true }); // the kubelet makes it
    const { pod_sandbox_id } = await client.rt<{ pod_sandbox_id: string }>('RunPodSandbox', { config });
    const { container_id } = await client.rt<{ container_id: string }>('CreateContainer', {
      pod_sandbox_id,
      sandbox_config: config,
      config: {
        metadata: { name: 'app', attempt: 0 },
        image: { image: 'busybox:latest' },
        command: ['sh', '-c', 'for i in 1 2 3 4 5; do echo line $i; done; sleep 600'],
        log_path: 'app.log',
        labels: { 'dcri-soak': 'yes' },
      },
    });
    await client.rt('StartContainer', { container_id });
    await client.rt('ExecSync', { container_id, cmd: ['echo', 'hi'], timeout: 10 });
    await client.rt('ContainerStats', { container_id });
    await client.rt('ListContainerStats', { filter: { pod_sandbox_id } });
    await client.rt('PodSandboxStatus', { pod_sandbox_id, verbose: true });
    await client.rt('ContainerStatus', { container_id });
    await client.rt('ListContainers', { filter: { pod_sandbox_id } });
    await client.rt('StopPodSandbox', { pod_sandbox_id });
    await client.rt('RemovePodSandbox', { pod_sandbox_id });
  };

  const started = Date.now();
  try {
    await client.rt('Version', {});
    await sleep(3000);
    const start = await report();
    await runPool(BASELINE_AT, CONCURRENCY, lifecycle);
    await sleep(8000); // idle keep-alive sockets to the engine close after 5 s
    const baseline = await report();
    await runPool(TOTAL - BASELINE_AT, CONCURRENCY, lifecycle);
    await sleep(8000); // idle keep-alive sockets to the engine close after 5 s
    const end = await report();
    const mib = (b: number): number => b / 2 ** 20;
    const timers = (r: Report): number => r.activeResources.Timeout ?? 0;
    const rows: Row[] = [
      {
        after: 'start (no pods)',
        'RSS MiB': mib(start.memory.rss),
        'heap MiB': mib(start.memory.heapUsed),
        fds: start.fds,
        timers: timers(start),
      },
      {
        after: `${BASELINE_AT} lifecycles`,
        'RSS MiB': mib(baseline.memory.rss),
        'heap MiB': mib(baseline.memory.heapUsed),
        fds: baseline.fds,
        timers: timers(baseline),
      },
      {
        after: `${TOTAL} lifecycles`,
        'RSS MiB': mib(end.memory.rss),
        'heap MiB': mib(end.memory.heapUsed),
        fds: end.fds,
        timers: timers(end),
      },
    ];
    printTable(`Soak: ${TOTAL} pod lifecycles in ${Math.round((Date.now() - started) / 1000)} s`, rows);
    const growth = end.memory.rss / baseline.memory.rss - 1;
    const growthMiB = mib(end.memory.rss - baseline.memory.rss);
    const fromStartMiB = mib(end.memory.rss - start.memory.rss);
    const pass =
      growthMiB <= 5 &&
      fromStartMiB <= 5 &&
      end.fds <= baseline.fds + 2 &&
      timers(end) <= timers(baseline) + 2;
    console.log(
      `RSS ${growthMiB.toFixed(1)} MiB over the first ${BASELINE_AT} (limit 5), ${fromStartMiB.toFixed(1)} MiB over the start with every pod gone (limit 5), fds ${baseline.fds} → ${end.fds}: ${pass ? 'PASS' : 'FAIL'}`,
    );
    console.log(
      `wrote ${writeResults(
        TOTAL === 1000 ? 'soak' : `soak-${TOTAL}`,
        {
          total: TOTAL,
          note: 'machine shared with other work',
          start,
          baseline,
          end,
          rssGrowth: growth,
          rssGrowthMiB: growthMiB,
          rssOverStartMiB: fromStartMiB,
          pass,
        },
        await engineDescription(),
      )}`,
    );
    if (!pass) process.exitCode = 1;
  } finally {
    client.close();
    child.kill('SIGTERM');
    await removeByLabel(LABEL);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
