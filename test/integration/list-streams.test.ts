import { status } from '../../src/grpc/status-codes';
import { onCallFinished } from '../../src/grpc/handler';
import { CHUNK_BYTES } from '../../src/grpc/list-stream';
import { MAX_MESSAGE_BYTES } from '../../src/grpc/proto';
import { startShim, type TestShim } from '../support/shim';
import { removeTestPods, TEST_OWNER, testDocker } from '../support/pod-config';
import {
  createMassPods,
  MASS_LABEL,
  newMassBatch,
  removeMassPods,
  type MassPods,
} from '../support/mass-pods';

/**
 * The six list streams against 2,000 pods of one container each (made with `docker create`, never
 * started): the same items as the unary lists, each exactly once, in chunks far below the message
 * limit, and a stream the client cancels stops and lets go.
 */
const COUNT = 2000;

interface Finished {
  method: string;
  code: status;
}
const finished: Finished[] = [];
onCallFinished((method, code) => finished.push({ method, code }));

let shim: TestShim;
let mass: MassPods;
const batch = newMassBatch();
const docker = testDocker();
const selector = { [MASS_LABEL]: batch };

beforeAll(async () => {
  shim = await startShim();
  mass = await createMassPods(docker, COUNT, TEST_OWNER, batch);
  // The index learns of them through Docker's events; wait until it holds them all.
  for (;;) {
    const res = await shim.client.rt<{ containers: unknown[] }>('ListContainers', {
      filter: { label_selector: selector },
    });
    if (res.containers.length === COUNT) break;
    await new Promise((r) => setTimeout(r, 200));
  }
}, 600_000);

afterAll(async () => {
  await removeMassPods(docker, batch);
  if (shim) {
    await removeTestPods(shim.client);
    await shim.stop();
  }
}, 600_000);

/**
 * Reads a stream as its raw messages: every chunk must hold at least one item and be at most the
 * chunk budget on the wire (far below the 16 MiB limit). Answers the chunks' decoded messages.
 */
async function streamed(
  method: string,
  field: string,
  req: object = {},
  service: 'runtime' | 'image' = 'runtime',
): Promise<Array<Record<string, unknown[]>>> {
  const raw = await shim.client.collectRaw<Record<string, unknown[]>>(method, req, service);
  for (const { bytes, message } of raw) {
    expect(message[field].length).toBeGreaterThan(0);
    expect(bytes.length).toBeLessThanOrEqual(CHUNK_BYTES);
    expect(bytes.length).toBeLessThan(MAX_MESSAGE_BYTES / 16);
  }
  return raw.map((r) => r.message);
}

const idsOf = (items: unknown[], key = (x: unknown) => (x as { id: string }).id): string[] => items.map(key);
const sorted = (a: string[]): string[] => [...a].sort();
/** The answers as JSON, in id order: streams and lists must carry the same items. */
const byId = (items: unknown[], key: (x: unknown) => string): string[] =>
  items.map((x) => JSON.stringify(x)).sort((a, b) => (key(JSON.parse(a)) < key(JSON.parse(b)) ? -1 : 1));

describe('list streams over 2,000 pods', () => {
  it('StreamContainers: every container once, in several chunks, as ListContainers has them', async () => {
    const req = { filter: { label_selector: selector } };
    const chunks = await streamed('StreamContainers', 'containers', req);
    const items = chunks.flatMap((c) => c.containers);
    expect(chunks.length).toBeGreaterThanOrEqual(2);
    expect(items).toHaveLength(COUNT);
    expect(new Set(idsOf(items)).size).toBe(COUNT);
    expect(sorted(idsOf(items))).toEqual(sorted(mass.containerIds));
    const list = await shim.client.rt<{ containers: unknown[] }>('ListContainers', req);
    const key = (x: unknown): string => (x as { id: string }).id;
    expect(byId(items, key)).toEqual(byId(list.containers, key));
  });

  it('StreamContainers honours the id, sandbox and state filters', async () => {
    const one = await shim.client.collect<Record<string, Array<{ id: string }>>>('StreamContainers', {
      filter: { id: mass.containerIds[7] },
    });
    expect(one.flatMap((c) => c.containers.map((x) => x.id))).toEqual([mass.containerIds[7]]);
    const pod = await shim.client.collect<Record<string, Array<{ id: string }>>>('StreamContainers', {
      filter: { pod_sandbox_id: mass.sandboxIds[9] },
    });
    expect(pod.flatMap((c) => c.containers.map((x) => x.id))).toEqual([mass.containerIds[9]]);
    const running = await shim.client.collect<Record<string, unknown[]>>('StreamContainers', {
      filter: { label_selector: selector, state: { state: 'CONTAINER_RUNNING' } },
    });
    expect(running).toEqual([]);
  });

  it('StreamPodSandboxes: every sandbox once, as ListPodSandbox has them', async () => {
    const req = { filter: { label_selector: selector } };
    const chunks = await streamed('StreamPodSandboxes', 'pod_sandboxes', req);
    const items = chunks.flatMap((c) => c.pod_sandboxes);
    expect(chunks.length).toBeGreaterThanOrEqual(2);
    expect(sorted(idsOf(items))).toEqual(sorted(mass.sandboxIds));
    const list = await shim.client.rt<{ items: unknown[] }>('ListPodSandbox', req);
    const key = (x: unknown): string => (x as { id: string }).id;
    expect(byId(items, key)).toEqual(byId(list.items, key));
  });

  it('StreamContainerStats and StreamPodSandboxStats: one entry per container and pod', async () => {
    const attrId = (x: unknown): string => (x as { attributes: { id: string } }).attributes.id;
    const req = { filter: { label_selector: selector } };
    const cs = await streamed('StreamContainerStats', 'container_stats', req);
    const cItems = cs.flatMap((c) => c.container_stats);
    expect(sorted(idsOf(cItems, attrId))).toEqual(sorted(mass.containerIds));
    const list = await shim.client.rt<{ stats: unknown[] }>('ListContainerStats', req);
    expect(sorted(idsOf(list.stats, attrId))).toEqual(sorted(idsOf(cItems, attrId)));

    const ps = await streamed('StreamPodSandboxStats', 'pod_sandbox_stats', req);
    const pItems = ps.flatMap((c) => c.pod_sandbox_stats);
    expect(sorted(idsOf(pItems, attrId))).toEqual(sorted(mass.sandboxIds));
    const pods = pItems as Array<{ attributes: { id: string }; linux: { containers: unknown[] } }>;
    const byPod = new Map(pods.map((p) => [p.attributes.id, p.linux.containers.map(attrId)]));
    expect(byPod.get(mass.sandboxIds[3])).toEqual([mass.containerIds[3]]);
  });

  it('StreamPodSandboxMetrics and StreamImages: the unary answers, each item once', async () => {
    const podId = (x: unknown): string => (x as { pod_sandbox_id: string }).pod_sandbox_id;
    const pm = await streamed('StreamPodSandboxMetrics', 'pod_sandbox_metrics');
    const mIds = idsOf(
      pm.flatMap((c) => c.pod_sandbox_metrics),
      podId,
    );
    expect(new Set(mIds).size).toBe(mIds.length);
    // Only running pods have metrics: none of the created-only mass pods.
    expect(mIds.filter((id) => mass.sandboxIds.includes(id))).toEqual([]);

    const images = await streamed('StreamImages', 'images', {}, 'image');
    const iIds = idsOf(images.flatMap((c) => c.images));
    expect(new Set(iIds).size).toBe(iIds.length);
    const list = await shim.client.img<{ images: Array<{ id: string }> }>('ListImages', {});
    const busybox = list.images.find((i) => JSON.stringify(i).includes('busybox:latest'));
    expect(iIds).toContain(busybox!.id);
    const one = await shim.client.collect<Record<string, Array<{ id: string }>>>(
      'StreamImages',
      { filter: { image: { image: 'busybox:latest' } } },
      'image',
    );
    expect(one.flatMap((c) => c.images.map((i) => i.id))).toEqual([busybox!.id]);
  });

  // StreamContainers' 2,000 items are four chunks, more than the client's flow-control windows hold,
  // so the server cannot have handed over all of them when the client's reset comes. The stats of
  // 2,000 created-only containers are two chunks: the second fits in the windows, and a server quick
  // enough has ended the call OK before the reset arrives. For stats either end is right here; that a
  // cancel stops the batches being read is the unit test's (test/unit/list-stream.test.ts).
  it.each([
    ['StreamContainers', 'containers', [status.CANCELLED]],
    ['StreamContainerStats', 'container_stats', [status.CANCELLED, status.OK]],
  ])(
    '%s cancelled by the client ends as CANCELLED, after handing over only part of the items',
    async (method, field, ends) => {
      const before = finished.length;
      const stream = shim.client.openStream(method, { filter: { label_selector: selector } });
      // The client gives up on its first chunk, as a kubelet whose deadline passed would: flow control
      // (and, for stats, reading in batches) keeps the server from running ahead.
      const errored = new Promise<{ code: number }>((resolve) => stream.once('error', resolve));
      let got = 0;
      stream.on('data', (c: Record<string, unknown[]>) => {
        got += c[field].length;
        stream.cancel();
      });
      expect((await errored).code).toBe(status.CANCELLED);
      for (;;) {
        const f = finished.slice(before).find((x) => x.method === method);
        if (f) {
          expect(ends).toContain(f.code);
          expect(got).toBeLessThan(COUNT);
          break;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      // The server is fine and answers the next stream in full.
      const again = await shim.client.collect<Record<string, unknown[]>>(method, {
        filter: { label_selector: selector },
      });
      expect(again.flatMap((c) => c[field])).toHaveLength(COUNT);
    },
  );
});
