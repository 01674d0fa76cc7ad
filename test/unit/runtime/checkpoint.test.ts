import { execFileSync } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { status } from '@grpc/grpc-js';
import type { CheckpointContainerRequest__Output } from '../../../src/generated/runtime/v1/CheckpointContainerRequest';
import type { CheckpointPodRequest__Output } from '../../../src/generated/runtime/v1/CheckpointPodRequest';
import type { RestorePodRequest__Output } from '../../../src/generated/runtime/v1/RestorePodRequest';
import { checkpointContainer, checkpointPod, restorePod } from '../../../src/runtime/checkpoint';
import { callContext, criRequest, failure, fakeDeps, type FakeWorld } from '../../support/fake-deps';
import { dockerError, dockerTimeout } from '../../support/fake-engine';
import { createIn, runningContainer, runSandbox, withImages } from '../../support/cri-fixtures';

let tmp: string;
let withCriu: string;
let withoutCriu: string;
const savedPath = process.env.PATH;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dcri-checkpoint-'));
  // The handler looks for criu on PATH, as runc does; a stand-in is enough, the fake engine never runs it.
  const bin = path.join(tmp, 'bin');
  fs.mkdirSync(bin);
  fs.writeFileSync(path.join(bin, 'criu'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  withCriu = `${bin}:${savedPath ?? ''}`;
  // Everything but criu: an empty directory (the refusals come before tar is needed).
  withoutCriu = path.join(tmp, 'empty');
  fs.mkdirSync(withoutCriu);
});

afterEach(() => {
  process.env.PATH = savedPath;
});

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** A fake world with its own root directory; `experimental` sets the engine's ExperimentalBuild. */
function world(experimental: boolean, criu: boolean): FakeWorld {
  const w = withImages(fakeDeps({ rootDirectory: fs.mkdtempSync(path.join(tmp, 'root-')) }));
  w.fake.engineInfo = { ...w.fake.engineInfo, ExperimentalBuild: experimental };
  process.env.PATH = criu ? withCriu : withoutCriu;
  return w;
}

const checkpoint = (w: FakeWorld, fields: Record<string, unknown>) =>
  checkpointContainer(w.deps)(
    criRequest<CheckpointContainerRequest__Output>('CheckpointContainerRequest', fields),
    callContext(),
  );
const pod = (w: FakeWorld) =>
  checkpointPod(w.deps)(
    criRequest<CheckpointPodRequest__Output>('CheckpointPodRequest', { pod_sandbox_id: 'a'.repeat(64) }),
    callContext(),
  );
const restore = (w: FakeWorld) =>
  restorePod(w.deps)(criRequest<RestorePodRequest__Output>('RestorePodRequest', {}), callContext());

describe('CheckpointContainer', () => {
  it('writes Docker’s checkpoint as a tar archive at location and cleans its work directory', async () => {
    const w = world(true, true);
    const { id } = await runningContainer(w);
    const location = path.join(tmp, `${id.slice(0, 12)}.tar`);
    await expect(checkpoint(w, { container_id: id, location })).resolves.toEqual({});
    expect(execFileSync('tar', ['-tf', location], { encoding: 'utf8' })).toContain('inventory.img');
    expect(w.fake.count('container.checkpoint', id)).toBe(1);
    expect(fs.readdirSync(path.join(w.deps.config.rootDirectory, 'checkpoints'))).toEqual([]);
    // The container keeps running.
    expect(w.fake.containers.get(id)?.state.Running).toBe(true);
  });

  it.each([
    [false, true, ['experimental mode'], ['CRIU']],
    [true, false, ['CRIU is not installed'], ['experimental']],
    [false, false, ['experimental mode', 'CRIU is not installed'], []],
  ])(
    'UNIMPLEMENTED saying what the node lacks (experimental %s, criu %s), before any lookup',
    async (experimental, criu, says, doesNotSay) => {
      const w = world(experimental, criu);
      const f = await failure(checkpoint(w, { container_id: 'f'.repeat(64), location: '/tmp/x.tar' }));
      expect(f.code).toBe(status.UNIMPLEMENTED);
      expect(f.message).toContain("CheckpointContainer needs Docker's checkpoint API");
      for (const s of says) expect(f.message).toContain(s);
      for (const s of doesNotSay) expect(f.message).not.toContain(s);
      expect(w.fake.count('container.inspect')).toBe(0);
    },
  );

  it.each([
    ['an unknown id', 'f'.repeat(64), status.NOT_FOUND, `${'f'.repeat(64)}`],
    ['an id that is not hex', 'not-a-docker-id', status.NOT_FOUND, 'not-a-docker-id'],
    ['an empty id', '', status.INVALID_ARGUMENT, 'container_id'],
  ])('%s → its code, naming it', async (_what, id, code, named) => {
    const w = world(true, true);
    const f = await failure(checkpoint(w, { container_id: id, location: path.join(tmp, 'never.tar') }));
    expect(f.code).toBe(code);
    expect(f.message).toContain(named);
    expect(w.fake.count('container.checkpoint')).toBe(0);
  });

  it.each([
    ['empty', ''],
    ['relative', 'checkpoints/x.tar'],
  ])('INVALID_ARGUMENT for a location that is %s', async (_what, location) => {
    const w = world(true, true);
    const { id } = await runningContainer(w);
    const f = await failure(checkpoint(w, { container_id: id, location }));
    expect(f.code).toBe(status.INVALID_ARGUMENT);
    expect(f.message).toContain('must be an absolute path');
    expect(w.fake.count('container.checkpoint')).toBe(0);
  });

  it('FAILED_PRECONDITION for a container that is not running', async () => {
    const w = world(true, true);
    const id = await createIn(w, await runSandbox(w));
    const f = await failure(checkpoint(w, { container_id: id, location: path.join(tmp, 'never.tar') }));
    expect(f.code).toBe(status.FAILED_PRECONDITION);
    expect(f.message).toContain('is not running');
  });

  it.each([
    ['info: engine error', 'info', dockerError(500, 'boom'), status.INTERNAL],
    ['inspect: deadline', 'container.inspect', dockerTimeout(), status.DEADLINE_EXCEEDED],
    ['checkpoint: engine error', 'container.checkpoint', dockerError(500, 'criu failed'), status.INTERNAL],
    ['checkpoint: deadline', 'container.checkpoint', dockerTimeout(), status.DEADLINE_EXCEEDED],
  ])('%s → its gRPC code, work directory removed', async (_what, op, err, code) => {
    const w = world(true, true);
    const { id } = await runningContainer(w);
    w.fake.fail(op, err);
    const f = await failure(checkpoint(w, { container_id: id, location: path.join(tmp, 'never.tar') }));
    expect(f.code).toBe(code);
    const work = path.join(w.deps.config.rootDirectory, 'checkpoints');
    expect(fs.existsSync(work) ? fs.readdirSync(work) : []).toEqual([]);
  });
});

describe('CheckpointPod and RestorePod', () => {
  it.each([
    ['CheckpointPod', pod],
    ['RestorePod', restore],
  ])('%s: UNIMPLEMENTED, saying Docker has no pod-wide checkpoint', async (method, call) => {
    const f = await failure(call(world(true, true)));
    expect(f.code).toBe(status.UNIMPLEMENTED);
    expect(f.message).toContain(`${method} is not implemented by docker-cri`);
  });

  it.each([
    ['CheckpointPod', pod],
    ['RestorePod', restore],
  ])('%s: UNIMPLEMENTED naming what the node lacks first', async (method, call) => {
    const f = await failure(call(world(false, false)));
    expect(f.code).toBe(status.UNIMPLEMENTED);
    expect(f.message).toContain(`${method} needs Docker's checkpoint API`);
    expect(f.message).toContain('experimental mode');
    expect(f.message).toContain('CRIU is not installed');
  });
});
