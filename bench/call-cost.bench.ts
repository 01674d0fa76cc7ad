import { spawn } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { CriClient } from '../test/support/cri-client';
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
 * What one unary CRI call costs docker-cri in CPU, against the floor of the same call on a bare
 * @grpc/grpc-js server (bench/bare-grpc-server.ts: the same proto, the same answer, no work) run by
 * the same node with the same flags. A kubelet at 110 pods × 2 makes about 26 such calls a second
 * on a steady node (22 of them its log manager's ContainerStatus), so this is most of what its calls
 * cost. Each method is called one call at a time for CALL_COST_SECONDS (default 10), in ROUNDS
 * rounds alternating between the two servers, on a pod of two running containers; CPU is the
 * server process's utime+stime (/proc/<pid>/stat). The client shares the machine, so single rounds
 * spread: the summary row of each call is the median.
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

function costRow(
  call: string,
  round: string,
  cpu: number,
  floor: number,
  wall?: number,
  floorWall?: number,
): Row {
  return {
    call,
    round,
    'docker-cri µs CPU/call': Math.round(cpu),
    'bare grpc-js µs CPU/call': Math.round(floor),
    'docker-cri over the floor, µs': Math.round(cpu - floor),
    'µs wall/call, docker-cri / bare':
      wall === undefined || floorWall === undefined ? '' : `${Math.round(wall)} / ${Math.round(floorWall)}`,
  };
}

async function main(): Promise<void> {
  await removeByLabel(LABEL);
  const shim = await startBinaryShim();
  const logRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'dcri-call-cost-'));
  const sock = path.join(logRoot, 'bare.sock');
  let bare: ReturnType<typeof spawn> | undefined;
  let bareClient: CriClient | undefined;
  try {
    const pod = await runBenchPod(shim.client, logRoot, 'call-cost');
    await sleep(2000);
    const [c0, c1] = pod.containers;
    const methods: Array<[string, (n: number) => object]> = [
      ['ContainerStatus', (n) => ({ container_id: n % 2 ? c1 : c0 })],
      ['ListContainers', () => ({})],
    ];
    // The floor answers with what docker-cri answered.
    const answers: Record<string, unknown> = {};
    for (const [m, req] of methods) answers[m] = await shim.client.rt(m, req(0));
    const bareScript = path.resolve(__dirname, 'bare-grpc-server.js');
    bare = spawn(process.execPath, [...NODE_FLAGS, bareScript, sock], {
      env: { ...process.env, ...NODE_ENV, BARE_ANSWERS: JSON.stringify(answers) },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    for (const until = Date.now() + 30_000; !fs.existsSync(sock); await sleep(50)) {
      if (Date.now() > until || bare.exitCode !== null)
        throw new Error('the bare grpc-js server did not start');
    }
    bareClient = new CriClient(sock);
    const rows: Row[] = [];
    for (const [m, req] of methods) {
      const dcriUs: number[] = [];
      const floorUs: number[] = [];
      for (let round = 1; round <= ROUNDS; round++) {
        let n = 0;
        const dcri = await measure(() => shim.client.rt(m, req(n++)), shim.child.pid as number);
        const client = bareClient;
        const floor = await measure(() => client.rt(m, req(n++)), bare.pid as number);
        dcriUs.push(dcri.cpuUs);
        floorUs.push(floor.cpuUs);
        rows.push(costRow(m, String(round), dcri.cpuUs, floor.cpuUs, dcri.wallUs, floor.wallUs));
      }
      rows.push(costRow(m, 'median', median(dcriUs), median(floorUs)));
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
    bareClient?.close();
    bare?.kill();
    await shim.stop();
    await removeByLabel(LABEL);
    fs.rmSync(logRoot, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
