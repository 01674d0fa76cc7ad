import { spawn } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { CriClient } from '../test/support/cri-client';
import { criServiceDefinition } from '../src/grpc/proto';
import {
  cpuSecondsOf,
  median,
  NODE_ENV,
  NODE_FLAGS,
  printTable,
  removeByLabel,
  runBenchPod,
  shimDescription,
  sleep,
  startBinaryShim,
  writeResults,
  type Row,
} from './support';

/**
 * What one unary CRI call costs docker-cri in CPU, against two floors of the same call run by the
 * same node with the same flags: a bare @grpc/grpc-js server (bench/bare-grpc-server.ts: the same
 * proto and answer, no work; what docker-cri's transport was until it spoke HTTP/2 itself) and
 * bare node:http2 (bench/bare-h2-server.ts: the answer's bytes, nothing decoded; Node's own floor).
 * A kubelet at 110 pods × 2 makes about 26 such calls a second on a steady node (22 of them its log
 * manager's ContainerStatus), so this is most of what its calls cost. Each method is called one call
 * at a time for CALL_COST_SECONDS (default 10), in ROUNDS rounds going round the three servers, on a
 * pod of two running containers; CPU is the server process's utime+stime (/proc/<pid>/stat). The
 * client shares the machine, so single rounds spread: the summary row of each call is the median.
 */
const SECONDS = Number(process.env.CALL_COST_SECONDS ?? 10);
const ROUNDS = Number(process.env.CALL_COST_ROUNDS ?? 3);
const LABEL = 'dcri-bench=call-cost';

interface Cost {
  calls: number;
  cpuUs: number;
  wallUs: number;
}

async function measure(call: () => Promise<unknown>, pid: number): Promise<Cost> {
  // The first second warms both sides (code compiled, connection up) and is not counted.
  for (const t = Date.now(); Date.now() - t < 1000;) await call();
  const c0 = cpuSecondsOf(pid);
  const t0 = Date.now();
  let calls = 0;
  while (Date.now() - t0 < SECONDS * 1000) {
    await call();
    calls++;
  }
  const wall = Date.now() - t0;
  return { calls, cpuUs: ((cpuSecondsOf(pid) - c0) * 1e6) / calls, wallUs: (wall * 1000) / calls };
}

const SERVERS = ['docker-cri', 'bare grpc-js', 'bare node:http2'] as const;
type Server = (typeof SERVERS)[number];

function costRow(
  call: string,
  round: string,
  cpu: Record<Server, number>,
  wall?: Record<Server, number>,
): Row {
  const row: Row = { call, round };
  for (const s of SERVERS) row[`${s} µs CPU`] = Math.round(cpu[s]);
  row['docker-cri over node:http2, µs'] = Math.round(cpu['docker-cri'] - cpu['bare node:http2']);
  row['µs wall: docker-cri / grpc-js / http2'] = wall
    ? SERVERS.map((s) => Math.round(wall[s])).join(' / ')
    : '';
  return row;
}

interface Bare {
  child: ReturnType<typeof spawn>;
  client: CriClient;
}

async function startBare(
  script: string,
  sock: string,
  env: Record<string, string>,
  what: string,
): Promise<Bare> {
  const child = spawn(process.execPath, [...NODE_FLAGS, path.resolve(__dirname, script), sock], {
    env: { ...process.env, ...NODE_ENV, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  for (const until = Date.now() + 30_000; !fs.existsSync(sock); await sleep(50)) {
    if (Date.now() > until || child.exitCode !== null) throw new Error(`the ${what} server did not start`);
  }
  return { child, client: new CriClient(sock) };
}

async function main(): Promise<void> {
  await removeByLabel(LABEL);
  const shim = await startBinaryShim();
  const logRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'dcri-call-cost-'));
  const bares: Bare[] = [];
  try {
    const pod = await runBenchPod(shim.client, logRoot, 'call-cost');
    await sleep(2000);
    const [c0, c1] = pod.containers;
    const methods: Array<[string, (n: number) => object]> = [
      ['ContainerStatus', (n) => ({ container_id: n % 2 ? c1 : c0 })],
      ['ListContainers', () => ({})],
    ];
    // The floors answer with what docker-cri answered.
    const runtime = criServiceDefinition('RuntimeService');
    const answers: Record<string, unknown> = {};
    const answersHex: Record<string, string> = {};
    for (const [m, req] of methods) {
      answers[m] = await shim.client.rt(m, req(0));
      answersHex[runtime[m].path] = runtime[m].responseSerialize(answers[m]).toString('hex');
    }
    // The floors, each with the answers in the form it takes.
    const [grpcJs, h2] = await Promise.all(
      (
        [
          ['bare-grpc-server.js', 'grpc-js.sock', { BARE_ANSWERS: JSON.stringify(answers) }, 'bare grpc-js'],
          [
            'bare-h2-server.js',
            'h2.sock',
            { BARE_ANSWERS_HEX: JSON.stringify(answersHex) },
            'bare node:http2',
          ],
        ] as const
      ).map(([script, sock, env, what]) =>
        startBare(script, path.join(logRoot, sock), env, what).then((b) => (bares.push(b), b)),
      ),
    );
    const targets: Record<Server, { client: CriClient; pid: number }> = {
      'docker-cri': { client: shim.client, pid: shim.child.pid as number },
      'bare grpc-js': { client: grpcJs.client, pid: grpcJs.child.pid as number },
      'bare node:http2': { client: h2.client, pid: h2.child.pid as number },
    };
    const rows: Row[] = [];
    for (const [m, req] of methods) {
      const cpus: Record<Server, number[]> = { 'docker-cri': [], 'bare grpc-js': [], 'bare node:http2': [] };
      for (let round = 1; round <= ROUNDS; round++) {
        let n = 0;
        const cpu = {} as Record<Server, number>;
        const wall = {} as Record<Server, number>;
        for (const s of SERVERS) {
          const { client, pid } = targets[s];
          const cost = await measure(() => client.rt(m, req(n++)), pid);
          cpu[s] = cost.cpuUs;
          wall[s] = cost.wallUs;
          cpus[s].push(cost.cpuUs);
        }
        rows.push(costRow(m, String(round), cpu, wall));
      }
      const medians = Object.fromEntries(SERVERS.map((s) => [s, median(cpus[s])])) as Record<Server, number>;
      rows.push(costRow(m, 'median', medians));
    }
    printTable(
      `CPU of one unary call, ${SECONDS} s of calls one at a time (${shimDescription().target})`,
      rows,
    );
    console.log(`wrote ${writeResults('call-cost', { seconds: SECONDS, rounds: ROUNDS, rows })}`);
    for (const c of pod.containers) await shim.client.rt('StopContainer', { container_id: c, timeout: 0 });
    await shim.client.rt('StopPodSandbox', { pod_sandbox_id: pod.id });
    await shim.client.rt('RemovePodSandbox', { pod_sandbox_id: pod.id });
  } finally {
    for (const b of bares) {
      b.client.close();
      b.child.kill();
    }
    await shim.stop();
    await removeByLabel(LABEL);
    fs.rmSync(logRoot, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
