import fs from 'fs';
import os from 'os';
import path from 'path';
import { status } from '@grpc/grpc-js';
import { ensurePauseImage } from '../../../src/image/pause-image';
import { failure, fakeDeps, type FakeWorld } from '../../support/fake-deps';
import { dockerError } from '../../support/fake-engine';
import { PAUSE_IMAGE } from '../../support/cri-fixtures';

const ID = `sha256:${'9'.repeat(64)}`;

/** A directory holding a prebuilt pause binary, as shims/pause can. */
function prebuiltPause(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dcri-pause-src-'));
  fs.writeFileSync(path.join(dir, 'pause'), Buffer.from('\x7fELF not really'), { mode: 0o755 });
  return dir;
}

describe('ensurePauseImage', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  it('answers a present image without pulling', async () => {
    const world = fakeDeps();
    const img = world.fake.addImage(PAUSE_IMAGE);
    await expect(ensurePauseImage(world.deps)).resolves.toBe(img.Id);
    expect(world.fake.count('image.pull')).toBe(0);
  });

  it('pulls an absent image once for callers at the same time', async () => {
    const world = fakeDeps();
    world.fake.registry.set(PAUSE_IMAGE, { Id: ID, RepoDigests: [], Size: 1, Created: '', Config: {} });
    const ids = await Promise.all([ensurePauseImage(world.deps), ensurePauseImage(world.deps)]);
    expect(ids).toEqual([ID, ID]);
    expect(world.fake.count('image.pull')).toBe(1);
  });

  it('builds the image offline (docker import) when it cannot be pulled', async () => {
    const dir = prebuiltPause();
    dirs.push(dir);
    const world: FakeWorld = fakeDeps({ pauseSourceDir: dir });
    const id = await ensurePauseImage(world.deps);
    expect(world.fake.count('image.import')).toBe(1);
    expect(world.fake.images.get(id)?.RepoTags).toEqual([PAUSE_IMAGE]);
  });

  it.each([
    ['there is no pause source', () => fakeDeps(), 'no pause source'],
    [
      'the import fails',
      () => {
        const dir = prebuiltPause();
        dirs.push(dir);
        const w = fakeDeps({ pauseSourceDir: dir });
        w.fake.fail('image.import', dockerError(500, 'archive/tar: invalid tar header'));
        return w;
      },
      'invalid tar header',
    ],
  ])('FAILED_PRECONDITION naming the image and both causes when %s', async (_what, world, cause) => {
    const f = await failure(ensurePauseImage(world().deps));
    expect(f.code).toBe(status.FAILED_PRECONDITION);
    expect(f.message).toContain(`pause image "${PAUSE_IMAGE}" is absent, cannot be pulled`);
    expect(f.message).toContain(cause);
  });
});
