import fs from 'fs';
import os from 'os';
import path from 'path';
import { status } from '@grpc/grpc-js';
import type { ImageFsInfoRequest__Output } from '../../../src/generated/runtime/v1/ImageFsInfoRequest';
import { imageFsInfo } from '../../../src/image/image-fs-info';
import { ImageStoreUsage } from '../../../src/image/image-store-usage';
import { callContext, criRequest, failure, fakeDeps } from '../../support/fake-deps';
import { dockerError, dockerTimeout } from '../../support/fake-engine';

describe('ImageFsInfo', () => {
  it('reports the engine’s image store (<DockerRootDir>/<driver>) for images and containers', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dcri-fake-root-'));
    try {
      fs.mkdirSync(path.join(root, 'overlay2', 'layer'), { recursive: true });
      fs.writeFileSync(path.join(root, 'overlay2', 'layer', 'file'), Buffer.alloc(8192, 1));
      const world = fakeDeps();
      world.fake.engineInfo.DockerRootDir = root;
      const res = await imageFsInfo(world.deps)(
        criRequest<ImageFsInfoRequest__Output>('ImageFsInfoRequest'),
        callContext(),
      );
      const [images] = res.image_filesystems ?? [];
      expect(images.fs_id?.mountpoint).toBe(path.join(root, 'overlay2'));
      expect(Number(images.inodes_used?.value)).toBe(2);
      expect(Number(images.used_bytes?.value)).toBeGreaterThanOrEqual(8192);
      expect(res.container_filesystems).toEqual(res.image_filesystems);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it.each([
    ['engine error', dockerError(500, 'boom'), status.INTERNAL],
    ['deadline', dockerTimeout(), status.DEADLINE_EXCEEDED],
  ])('info: %s → its gRPC code', async (_what, err, code) => {
    const world = fakeDeps();
    world.fake.fail('info', err);
    const f = await failure(
      imageFsInfo(world.deps)(criRequest<ImageFsInfoRequest__Output>('ImageFsInfoRequest'), callContext()),
    );
    expect(f.code).toBe(code);
  });

  it('prime() starts the first walk at start: the first ImageFsInfo answers from it', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dcri-fake-root-'));
    try {
      fs.mkdirSync(path.join(root, 'overlay2'));
      const world = fakeDeps();
      world.fake.engineInfo.DockerRootDir = root;
      const store = new ImageStoreUsage(world.deps.engineInfo);
      store.prime();
      const primed = await store.get();
      // A file added after the walk is not seen: the answer is the primed walk, not a new one.
      fs.writeFileSync(path.join(root, 'overlay2', 'late'), 'x');
      const again = await store.get();
      expect(again.usage).toBe(primed.usage);
      expect(Number(again.usage.inodes)).toBe(0);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('prime() with the engine down neither throws nor leaves a rejection', async () => {
    const world = fakeDeps();
    world.fake.fail('info', dockerError(500, 'boom'));
    const store = new ImageStoreUsage(world.deps.engineInfo);
    expect(() => store.prime()).not.toThrow();
    await new Promise((r) => setImmediate(r));
  });
});
