import net from 'net';
import { status } from '@grpc/grpc-js';
import { startShim, type TestShim } from '../support/shim';
import { grpcError } from '../support/cri-client';

const REG = process.env.DCRI_TEST_REGISTRY as string;
const AUTH_REG = process.env.DCRI_TEST_AUTH_REGISTRY as string;
const USER = process.env.DCRI_TEST_AUTH_USER as string;
const PASSWORD = process.env.DCRI_TEST_AUTH_PASSWORD as string;

interface CriImage {
  id: string;
  repo_tags: string[];
  repo_digests: string[];
  size: string;
  uid: { value: string } | null;
  username: string;
}

describe('ImageService against the real engine and local registries', () => {
  let shim: TestShim;
  const made: string[] = [];

  beforeAll(async () => {
    shim = await startShim({ imagePullProgressDeadlineSeconds: 3 });
  });
  afterAll(async () => {
    for (const ref of made) {
      await shim.app.docker.api
        .getImage(ref)
        .remove({ force: true })
        .catch(() => undefined);
    }
    await shim.stop();
  });

  const pull = (image: string, auth?: object) =>
    shim.client.img<{ image_ref: string }>('PullImage', { image: { image }, auth });
  const statusOf = (image: string, verbose = false) =>
    shim.client.img<{ image: CriImage | null; info: Record<string, string> }>('ImageStatus', {
      image: { image },
      verbose,
    });

  it('pulls by tag, lists it, reports its status, and removes it by tag', async () => {
    const ref = `${REG}/test/busybox:1.0`;
    made.push(ref);
    const { image_ref } = await pull(ref);
    expect(image_ref).toMatch(/^sha256:[0-9a-f]{64}$/);

    const st = await statusOf(ref, true);
    expect(st.image!.id).toBe(image_ref);
    expect(st.image!.repo_tags).toContain(ref);
    expect(st.image!.repo_digests[0]).toMatch(new RegExp(`^${REG}/test/busybox@sha256:`));
    expect(Number(st.image!.size)).toBeGreaterThan(100_000);
    expect(JSON.parse(st.info.info).id).toBe(image_ref);

    const all = await shim.client.img<{ images: CriImage[] }>('ListImages', {});
    expect(all.images.find((i) => i.id === image_ref)?.repo_tags).toContain(ref);
    const filtered = await shim.client.img<{ images: CriImage[] }>('ListImages', {
      filter: { image: { image: ref } },
    });
    expect(filtered.images.map((i) => i.id)).toEqual([image_ref]);

    await shim.client.img('RemoveImage', { image: { image: ref } });
    expect((await statusOf(ref)).image).toBeNull();
    // Removing what is gone succeeds.
    await shim.client.img('RemoveImage', { image: { image: ref } });
  });

  it('pulls latest when no tag is given, and by digest', async () => {
    const bare = `${REG}/test/busybox`;
    made.push(`${bare}:latest`);
    const latest = await pull(bare);
    const st = await statusOf(`${bare}:latest`);
    expect(st.image!.id).toBe(latest.image_ref);
    const digestRef = st.image!.repo_digests[0];
    await shim.client.img('RemoveImage', { image: { image: latest.image_ref } });
    expect((await statusOf(`${bare}:latest`)).image).toBeNull();

    made.push(digestRef);
    const byDigest = await pull(digestRef);
    expect(byDigest.image_ref).toBe(latest.image_ref);
    expect((await statusOf(digestRef)).image!.repo_digests).toContain(digestRef);
    await shim.client.img('RemoveImage', { image: { image: digestRef } });
    expect((await statusOf(digestRef)).image).toBeNull();
  });

  it('removes by id every tag of the image', async () => {
    const docker = shim.app.docker.api;
    const c = await docker.createContainer({ Image: 'busybox:latest', Cmd: ['true'] });
    const ref = 'dcri-test/first:x';
    await c.commit({ repo: 'dcri-test/first', tag: 'x', changes: ['LABEL two=tags'] } as object);
    await c.remove();
    const image_ref = (await docker.getImage(ref).inspect()).Id;
    await docker.getImage(ref).tag({ repo: 'dcri-test/second', tag: 'x' });
    made.push('dcri-test/second:x', ref);
    await shim.client.img('RemoveImage', { image: { image: image_ref } });
    expect((await statusOf(ref)).image).toBeNull();
    expect((await statusOf('dcri-test/second:x')).image).toBeNull();
  });

  it('pulls from a registry that needs a password, with user/password or auth', async () => {
    const ref = `${AUTH_REG}/test/busybox:1.0`;
    made.push(ref);
    const noAuth = await grpcError(pull(ref));
    expect(noAuth.code).toBe(status.UNAUTHENTICATED);
    expect(noAuth.details).toContain(ref);

    const wrong = await grpcError(pull(ref, { username: USER, password: 'wrong' }));
    expect(wrong.code).toBe(status.UNAUTHENTICATED);

    const ok = await pull(ref, { username: USER, password: PASSWORD });
    expect(ok.image_ref).toMatch(/^sha256:/);
    await shim.client.img('RemoveImage', { image: { image: ref } });

    const auth = Buffer.from(`${USER}:${PASSWORD}`).toString('base64');
    const ok2 = await pull(ref, { auth });
    expect(ok2.image_ref).toBe(ok.image_ref);
    await shim.client.img('RemoveImage', { image: { image: ref } });
  });

  it('fails clearly for a missing image, an unreachable registry and a bad reference', async () => {
    const missing = `${REG}/test/does-not-exist:1`;
    const e1 = await grpcError(pull(missing));
    expect(e1.code).toBe(status.NOT_FOUND);
    expect(e1.details).toContain(missing);

    const refused = '127.0.0.1:1/test/busybox:1.0';
    const e2 = await grpcError(pull(refused));
    expect(e2.code).toBe(status.UNAVAILABLE);
    expect(e2.details).toContain(refused);

    const e3 = await grpcError(pull('Not A Reference'));
    expect(e3.code).toBe(status.INVALID_ARGUMENT);
    expect(e3.details).toContain('image.image');

    const e4 = await grpcError(pull(''));
    expect(e4.code).toBe(status.INVALID_ARGUMENT);
  });

  it('cancels a pull that makes no progress', async () => {
    // A "registry" that accepts connections and never answers.
    const sockets: net.Socket[] = [];
    const server = net.createServer((s) => sockets.push(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const ref = `127.0.0.1:${port}/test/stalled:1`;
      const started = Date.now();
      const err = await grpcError(pull(ref));
      expect(err.code).toBe(status.DEADLINE_EXCEEDED);
      expect(err.details).toContain(ref);
      expect(err.details).toContain('no progress');
      expect(Date.now() - started).toBeLessThan(30_000);
    } finally {
      sockets.forEach((s) => s.destroy());
      server.close();
    }
  });

  it('reports the image user as uid or username', async () => {
    const docker = shim.app.docker.api;
    for (const [user, tag] of [
      ['1000', 'numeric'],
      ['app:app', 'named'],
    ]) {
      const c = await docker.createContainer({ Image: 'busybox:latest', Cmd: ['true'] });
      await c.commit({ repo: 'dcri-test/user', tag, changes: [`USER ${user}`] } as object);
      await c.remove();
      made.push(`dcri-test/user:${tag}`);
    }
    const numeric = await statusOf('dcri-test/user:numeric');
    expect(numeric.image!.uid).toEqual({ value: '1000' });
    const named = await statusOf('dcri-test/user:named');
    expect(named.image!.uid).toBeNull();
    expect(named.image!.username).toBe('app');
    expect((await statusOf('busybox:latest')).image!.uid).toBeNull();
  });

  it('ImageFsInfo reports the image store with bytes and inodes', async () => {
    const info = await shim.app.docker.api.info();
    const res = await shim.client.img<{
      image_filesystems: Array<{
        fs_id: { mountpoint: string };
        used_bytes: { value: string };
        inodes_used: { value: string };
        timestamp: string;
      }>;
    }>('ImageFsInfo', {});
    const fs0 = res.image_filesystems[0];
    expect(fs0.fs_id.mountpoint).toBe(`${info.DockerRootDir}/${info.Driver}`);
    expect(Number(fs0.used_bytes.value)).toBeGreaterThan(100_000);
    expect(Number(fs0.inodes_used.value)).toBeGreaterThan(100);
    expect(BigInt(fs0.timestamp)).toBeGreaterThan(BigInt(Date.now() - 120_000) * 1_000_000n);
  });
});
