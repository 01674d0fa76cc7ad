import fs from 'fs';
import os from 'os';
import path from 'path';
import { startShim, type TestShim } from '../support/shim';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy';
import { APP_IMAGE } from '../support/cri-fixtures';
import { boundParserPool, nodeParserPool } from '../../src/process/http-parser-pool';
import { testEngineSocket } from '../support/pod-config';

jest.setTimeout(120_000);

interface ImageStatusAnswer {
  image: { id: string } | null;
}

/**
 * The executable bounds node's pool of HTTP parsers (src/process/http-parser-pool.ts), so a parser
 * given back past the bound is closed. Here the bound is 2 (the shipped one is 32) and the Docker
 * calls of a burst of ImageStatus calls (an image inspect each, never cached) meet the faults of
 * the fault proxy: answers failed by the engine, connections cut mid-request, answers held. Each
 * call gets its own answer or its own error, the pool stays within the bound, and the calls after
 * the faults are all answered: no closed parser is handed to a later request.
 */
describe("node's HTTP parser pool, bounded, under engine faults", () => {
  let shim: TestShim;
  let proxy: FaultProxy;
  let dir: string;
  let was: number | undefined;
  let imageId: string;
  const pool = nodeParserPool();
  const inspect = /^GET \S*\/images\/\S+\/json[ ?]/;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dcri-parsers-'));
    proxy = await startFaultProxy(testEngineSocket(), path.join(dir, 'docker.sock'));
    shim = await startShim({ dockerEndpoint: proxy.endpoint });
    // The pool is the process's, shared with every test file jest runs in it: put back in afterAll.
    was = boundParserPool(pool, 2);
    imageId = (await status()).image!.id;
  });
  afterAll(async () => {
    if (pool && was !== undefined) pool.max = was;
    proxy?.clearFaults();
    await shim?.stop();
    await proxy?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const status = () => shim.client.img<ImageStatusAnswer>('ImageStatus', { image: { image: APP_IMAGE } });
  /** `n` ImageStatus calls at once: the image id each answered, or the error's message. */
  const burst = (n: number) =>
    Promise.all(
      Array.from({ length: n }, () =>
        status().then(
          (r) => r.image?.id ?? 'no image',
          (err: Error) => `error: ${err.message}`,
        ),
      ),
    );

  it("is node's own pool, found", () => {
    expect(pool).toBeDefined();
  });

  it('failed answers: each call gets its own answer or error, and the pool stays within the bound', async () => {
    proxy.failNext(inspect, { status: 500, message: 'injected engine failure', times: 10 });
    const answers = await burst(40);
    const failed = answers.filter((a) => a.startsWith('error:'));
    expect(failed).toHaveLength(10);
    expect(failed.every((a) => a.includes('injected engine failure'))).toBe(true);
    expect(answers.filter((a) => a === imageId)).toHaveLength(30);
    expect(pool!.list.length).toBeLessThanOrEqual(2);
  });

  it('connections cut while the engine holds the answers: each cut call fails as UNAVAILABLE, the next burst is answered in full', async () => {
    proxy.hold(inspect, 1500);
    const cut = burst(30);
    // Every request has reached the proxy and is being held when the connections are cut.
    const seen = proxy.seen(inspect);
    for (let t = Date.now(); proxy.seen(inspect) < seen + 30 && Date.now() - t < 10_000;)
      await new Promise((r) => setTimeout(r, 20));
    expect(proxy.resetStreams(inspect)).toBeGreaterThanOrEqual(30);
    proxy.clearFaults();
    // Every call was held at the proxy when its connection was cut: each fails, as the engine
    // being unreachable.
    expect(await cut).toEqual(
      Array.from({ length: 30 }, () => expect.stringMatching(/^error: 14 UNAVAILABLE: .*socket hang up/)),
    );

    expect(await burst(40)).toEqual(Array.from({ length: 40 }, () => imageId));
    expect(pool!.list.length).toBeLessThanOrEqual(2);
  });

  it('answers held past a burst: every held call is answered once the hold ends', async () => {
    proxy.hold(inspect, 800);
    const held = await burst(30);
    proxy.clearFaults();
    expect(held).toEqual(Array.from({ length: 30 }, () => imageId));
    expect(await burst(10)).toEqual(Array.from({ length: 10 }, () => imageId));
    expect(pool!.list.length).toBeLessThanOrEqual(2);
  });
});
