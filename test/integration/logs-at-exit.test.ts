import fs from 'fs';
import path from 'path';
import type * as grpc from '@grpc/grpc-js';
import type { ContainerEventResponse__Output } from '../../src/generated/runtime/v1/ContainerEventResponse';
import { PrivateEngine } from '../support/private-engine';
import { startShim, type TestShim } from '../support/shim';
import { Cri, type Pod } from './container-support';
import { lines, records } from './logs-support';

/**
 * The kubelet's timing contract for logs: the file exists when StartContainer returns, and every
 * byte a container wrote is in it by the time any answer first reports the container EXITED
 * (`kubectl logs` of a finished Job, FallbackToLogsOnError read it right then).
 *
 * On a private engine: every docker-cri on the shared engine would pump these containers too, and
 * whichever took a container's pump lock first would write its file.
 */

jest.setTimeout(600_000);
const engine = new PrivateEngine();
let shim: TestShim;
let cri: Cri;

beforeAll(async () => {
  await engine.start();
  const shared = process.env.DOCKER_HOST as string;
  engine.copyImageFrom(shared, 'busybox:latest');
  engine.copyImageFrom(shared, 'registry.k8s.io/pause:3.10');
  shim = await startShim({ dockerEndpoint: engine.endpoint });
  cri = new Cri(shim);
});
afterAll(async () => {
  await shim?.stop();
  await engine.destroy();
});

interface Made {
  id: string;
  pod: string;
  logPath: string;
  line: string;
}

/** Runs `limit` of fn at a time over items. */
async function inBatches<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += limit)
    out.push(...(await Promise.all(items.slice(i, i + limit).map(fn))));
  return out;
}

/** 10 pods (the first on the host's network) × 10 containers, each echoing one distinct line and exiting. */
async function echoers(round: string, podCount = 10): Promise<Made[]> {
  const pods: Pod[] = [];
  for (let p = 0; p < podCount; p++) {
    const hostNet =
      p === 0 ? { linux: { security_context: { namespace_options: { network: 'NODE' } } } } : {};
    pods.push(await cri.pod(`exit-${round}-${p}`, hostNet));
  }
  const specs = pods.flatMap((pod, p) =>
    Array.from({ length: 10 }, (_, c) => ({
      pod,
      name: `e${c}`,
      line: `${round}-pod${p}-ctr${c}-${pod.id.slice(0, 12)}`,
    })),
  );
  return inBatches(specs, 10, async ({ pod, name, line }) => {
    const id = await cri.create(pod, { command: ['sh', '-c', `echo ${line}`] }, name);
    await cri.start(id);
    return { id, pod: pod.id, logPath: path.join(pod.config.log_directory, name, '0.log'), line };
  });
}

describe('logs at exit', () => {
  it('has each line in the file, in CRI format, as soon as ContainerStatus first says EXITED (100 containers, one host-network pod)', async () => {
    const made = await echoers('status');
    const seen = await Promise.all(
      made.map(async (m) => {
        for (;;) {
          const { status } = await cri.status(m.id);
          if (status.state === 'CONTAINER_EXITED') {
            // Read at once, before anything else: this is what a log reader sees at that moment.
            return { id: m.id, lines: lines(records(m.logPath)), logPath: status.log_path };
          }
          await new Promise((r) => setTimeout(r, 20));
        }
      }),
    );
    expect(seen).toEqual(made.map((m) => ({ id: m.id, lines: [m.line], logPath: m.logPath })));
  });

  it('has each line in the file as soon as ListContainers first lists the container EXITED (100 containers)', async () => {
    const made = await echoers('list');
    const byId = new Map(made.map((m) => [m.id, m]));
    const seen = new Map<string, string[]>();
    while (seen.size < made.length) {
      const listed = await cri.list({ label_selector: { 'dcri-test': 'yes' } });
      for (const c of listed) {
        const m = byId.get(c.id);
        if (m && c.state === 'CONTAINER_EXITED' && !seen.has(c.id)) seen.set(c.id, lines(records(m.logPath)));
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(made.map((m) => seen.get(m.id))).toEqual(made.map((m) => [m.line]));
  });

  it('has each line in the file as soon as GetContainerEvents or PodSandboxStatus first report the container EXITED', async () => {
    const fromEvents = new Map<string, string[]>();
    const fromPods = new Map<string, string[]>();
    const fn = (
      shim.client.runtime as unknown as Record<
        string,
        (req: object) => grpc.ClientReadableStream<ContainerEventResponse__Output>
      >
    ).GetContainerEvents;
    const call = fn.call(shim.client.runtime, {});
    call.on('data', (ev: ContainerEventResponse__Output) => {
      // Read in the handler itself: the file as it is when the event arrives.
      for (const st of ev.containers_statuses) {
        if (st.state === 'CONTAINER_EXITED' && !fromEvents.has(st.id)) {
          fromEvents.set(st.id, lines(records(st.log_path)));
        }
      }
    });
    call.on('error', () => undefined);
    try {
      const made = await echoers('events', 3);
      const pods = [...new Set(made.map((m) => m.pod))];
      while (made.some((m) => !fromPods.has(m.id) || !fromEvents.has(m.id))) {
        for (const pod of pods) {
          const res = await shim.client.rt<{
            containers_statuses: Array<{ id: string; state: string; log_path: string }>;
          }>('PodSandboxStatus', { pod_sandbox_id: pod });
          for (const st of res.containers_statuses) {
            if (st.state === 'CONTAINER_EXITED' && !fromPods.has(st.id)) {
              fromPods.set(st.id, lines(records(st.log_path)));
            }
          }
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      const want = made.map((m) => [m.line]);
      expect(made.map((m) => fromEvents.get(m.id))).toEqual(want);
      expect(made.map((m) => fromPods.get(m.id))).toEqual(want);
    } finally {
      call.cancel();
    }
  });

  it('has the line in the file when ContainerStatus first says EXITED, asked while StartContainer runs (static binary, runAsUser, no_new_privs; 40 runs)', async () => {
    const pod = await cri.pod('exit-during-start');
    const seen: Array<string[] | 'never'> = [];
    const want: string[][] = [];
    for (let i = 0; i < 40; i++) {
      const name = `s${i}`;
      const line = `during-start-${i}-${pod.id.slice(0, 12)}`;
      // busybox is one static binary: `echo` runs and exits before Docker's start call returns.
      const id = await cri.create(
        pod,
        {
          command: ['echo', line],
          linux: { security_context: { run_as_user: { value: 1000 }, no_new_privs: true } },
        },
        name,
      );
      const logPath = path.join(pod.config.log_directory, name, '0.log');
      let starting = true;
      const started = cri.start(id).finally(() => (starting = false));
      // Asked over and over from the moment the start is sent, as a kubelet's relist may.
      const first = (async (): Promise<string[] | 'never'> => {
        for (;;) {
          const { status } = await cri.status(id);
          if (status.state === 'CONTAINER_EXITED') return lines(records(logPath));
          if (!starting && status.state === 'CONTAINER_CREATED') return 'never';
          await new Promise((r) => setImmediate(r));
        }
      })();
      await started;
      seen.push(await first);
      want.push([line]);
    }
    expect(seen).toEqual(want);
  });

  it('has the file when StartContainer returns, for a container that prints nothing', async () => {
    const pod = await cri.pod('exit-quiet');
    const id = await cri.create(pod, { command: ['sh', '-c', 'exit 0'] });
    const { status } = await cri.status(id);
    expect(fs.existsSync(status.log_path)).toBe(false);
    await cri.start(id);
    expect(fs.lstatSync(status.log_path).isFile()).toBe(true);
    await cri.waitExited(id);
    expect(fs.readFileSync(status.log_path).length).toBe(0);
  });
});
