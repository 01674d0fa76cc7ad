import fs from 'fs';
import os from 'os';
import path from 'path';
import { status } from '@grpc/grpc-js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy';
import { startShim, type TestShim } from '../support/shim';
import { grpcError } from '../support/cri-client';
import { testDocker } from '../support/pod-config';

const REG = process.env.DCRI_TEST_REGISTRY as string;

/** Errors named for their cause, against the real engine (issue 25 item 3). */
describe('engine answers a kubelet must read right', () => {
  const docker = testDocker();
  let shim: TestShim;
  let proxy: FaultProxy;
  let dir: string;
  const made: string[] = [];

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dcri-errors-'));
    const engineSocket = (process.env.DOCKER_HOST as string).replace(/^unix:\/\//, '');
    proxy = await startFaultProxy(engineSocket, path.join(dir, 'proxy.sock'));
    shim = await startShim({ dockerEndpoint: proxy.endpoint, imagePullProgressDeadlineSeconds: 30 });
  });
  afterEach(() => proxy.clearFaults());
  afterAll(async () => {
    for (const ref of made) {
      await docker
        .getImage(ref)
        .remove({ force: true })
        .catch(() => undefined);
    }
    await shim?.stop();
    await proxy?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** An image of its own (a commit of busybox), so removing it deletes it. */
  async function ownImage(tag: string): Promise<string> {
    const c = await docker.createContainer({
      Image: 'busybox:latest',
      Cmd: ['true'],
      Labels: { 'dcri-test': 'yes' },
    });
    try {
      const res = (await c.commit({ repo: 'dcri-test/remove-race', tag })) as {
        Id: string;
      };
      made.push(res.Id);
      return res.Id;
    } finally {
      await c.remove({ force: true });
    }
  }

  it('two RemoveImage calls racing for one image both answer OK, and the image is gone', async () => {
    // A few rounds: the race is the engine's, so one round may not hit it (Docker 20.10 answered
    // the loser INTERNAL "unrecognized image ID").
    for (let round = 0; round < 5; round++) {
      const id = await ownImage(`r${process.pid}-${round}`);
      const remove = (image: string) => shim.client.img('RemoveImage', { image: { image } });
      await expect(
        Promise.all([remove(id), remove(id), remove(`dcri-test/remove-race:r${process.pid}-${round}`)]),
      ).resolves.toHaveLength(3);
      await expect(docker.getImage(id).inspect()).rejects.toMatchObject({ statusCode: 404 });
    }
  });

  it('a registry’s 429 on a pull is RESOURCE_EXHAUSTED with the registry’s words', async () => {
    const words =
      'toomanyrequests: You have reached your pull rate limit. You may increase the limit by authenticating';
    proxy.failNext(/^POST \/[^ ]*images\/create/, { status: 429, message: words });
    const err = await grpcError(shim.client.img('PullImage', { image: { image: `${REG}/test/none:429` } }));
    expect(status[err.code]).toBe('RESOURCE_EXHAUSTED');
    expect(err.details).toContain(words);
    expect(err.details).toContain(`${REG}/test/none:429`);
  });

  it('an engine’s 501 is UNIMPLEMENTED with the engine’s words', async () => {
    proxy.failNext(/^GET \/[^ ]*images\/[^ ]*\/json/, {
      status: 501,
      message: 'not implemented by this engine',
    });
    const err = await grpcError(shim.client.img('ImageStatus', { image: { image: 'busybox:latest' } }));
    expect(status[err.code]).toBe('UNIMPLEMENTED');
    expect(err.details).toContain('not implemented by this engine');
  });
});
