import * as grpc from '@grpc/grpc-js';
import { startShim, type TestShim } from '../support/shim';
import { onCallFinished } from '../../src/grpc/handler';
import { eventually } from './streaming-fixtures';
import { httpGet } from '../support/http-get';

jest.setTimeout(60_000);

const scrape = async (url: string): Promise<string> => (await httpGet(url)).body;

/** The value of docker_cri_grpc_requests_total for GetContainerEvents with this code (0 when absent). */
function eventsCount(text: string, code: string): number {
  const line = text
    .split('\n')
    .find(
      (l) =>
        l.startsWith('docker_cri_grpc_requests_total{') &&
        l.includes('method="GetContainerEvents"') &&
        l.includes(`code="${code}"`),
    );
  return line ? Number(line.split(' ').pop()) : 0;
}

/** A GetContainerEvents stream is one call for the logs and metrics, counted when it ends. */
describe('GetContainerEvents in the per-RPC metrics', () => {
  let shim: TestShim;
  const seen: Array<{ method: string; code: number; seconds: number }> = [];
  onCallFinished((method, code, seconds) => {
    if (method === 'GetContainerEvents') seen.push({ method, code, seconds });
  });

  beforeAll(async () => {
    shim = await startShim({ metricsBindAddr: '127.0.0.1:0' });
  });
  afterAll(async () => {
    await shim.stop();
  });

  it('counts a stream the client ended, once, with how long it lasted', async () => {
    const url = shim.app.metrics!.url;
    const before = eventsCount(await scrape(url), 'OK');
    const baseline = shim.app.deps.index.listenerCount('change');
    const open = (
      shim.client.runtime as unknown as Record<string, (req: object) => grpc.ClientReadableStream<unknown>>
    ).GetContainerEvents;
    const call = open.call(shim.client.runtime, {});
    call.on('error', () => undefined);
    await eventually(async () => shim.app.deps.index.listenerCount('change') > baseline);
    // Still open: nothing counted yet.
    expect(seen).toEqual([]);
    await new Promise((r) => setTimeout(r, 200));
    call.cancel();

    await eventually(async () => seen.length > 0);
    expect(seen).toHaveLength(1);
    expect(seen[0].code).toBe(grpc.status.OK);
    expect(seen[0].seconds).toBeGreaterThanOrEqual(0.2);
    await eventually(async () => eventsCount(await scrape(url), 'OK') === before + 1);
    // The subscription is gone with it, and no second count follows.
    await eventually(async () => shim.app.deps.index.listenerCount('change') === baseline);
    await new Promise((r) => setTimeout(r, 200));
    expect(seen).toHaveLength(1);
  });
});
