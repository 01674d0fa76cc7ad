import { status } from '@grpc/grpc-js';
import { startShim, type TestShim } from '../support/shim';
import { grpcError } from '../support/cri-client';
import { removeTestPods, testDocker } from '../support/pod-config';
import { Cri, type Pod } from './container-support';

describe('containers through the CRI: create, start, status, list, stop, remove', () => {
  let shim: TestShim;
  let cri: Cri;
  let pod: Pod;
  const docker = testDocker();

  beforeAll(async () => {
    shim = await startShim();
    cri = new Cri(shim);
    pod = await cri.pod('life');
  });
  afterAll(async () => {
    await removeTestPods(shim.client);
    await shim.stop();
  });

  it('creates a container with dockershim name and labels, reports it, lists it and removes it', async () => {
    const before = BigInt(Date.now() - 1000) * 1_000_000n;
    const id = await cri.create(
      pod,
      {
        command: ['sleep', '1000'],
        labels: { 'io.kubernetes.container.name': 'web', app: 'life', 'dcri-test': 'yes' },
        annotations: { 'io.kubernetes.container.hash': 'abc' },
        image: { image: 'busybox:latest', user_specified_image: 'busybox' },
        metadata: { name: 'web', attempt: 3 },
        log_path: 'web/3.log',
      },
      'web',
    );
    expect(id).toMatch(/^[0-9a-f]{64}$/);

    const inspect = await docker.getContainer(id).inspect();
    const m = pod.config.metadata;
    expect(inspect.Name).toBe(`/k8s_web_${m.name}_${m.namespace}_${m.uid}_3`);
    expect(inspect.Config.Labels).toMatchObject({
      'io.kubernetes.docker.type': 'container',
      'io.kubernetes.sandbox.id': pod.id,
      'io.kubernetes.container.logpath': `${pod.config.log_directory}/web/3.log`,
      'annotation.io.kubernetes.container.hash': 'abc',
      app: 'life',
    });
    expect(inspect.HostConfig.NetworkMode).toBe(`container:${pod.id}`);
    expect(inspect.HostConfig.IpcMode).toBe(`container:${pod.id}`);

    let st = (await cri.status(id)).status;
    expect(st).toMatchObject({
      id,
      metadata: { name: 'web', attempt: 3 },
      state: 'CONTAINER_CREATED',
      started_at: '0',
      finished_at: '0',
      image: { image: 'busybox:latest', user_specified_image: 'busybox' },
      labels: { 'io.kubernetes.container.name': 'web', app: 'life', 'dcri-test': 'yes' },
      annotations: { 'io.kubernetes.container.hash': 'abc' },
      log_path: `${pod.config.log_directory}/web/3.log`,
    });
    expect(st.image_ref).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(st.image_id).toBe(inspect.Image);
    expect(BigInt(st.created_at)).toBeGreaterThan(before);

    const listed = await cri.list({ id });
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({
      id,
      pod_sandbox_id: pod.id,
      metadata: { name: 'web', attempt: 3 },
      state: 'CONTAINER_CREATED',
      labels: { app: 'life' },
      image_ref: st.image_ref,
    });

    await cri.start(id);
    st = (await cri.status(id)).status;
    expect(st.state).toBe('CONTAINER_RUNNING');
    expect(BigInt(st.started_at)).toBeGreaterThan(before);
    expect(st.finished_at).toBe('0');
    expect(st.reason).toBe('');
    expect(st.user?.linux).toEqual({ uid: '0', gid: '0', supplemental_groups: expect.any(Array) });

    // The list follows without waiting: filters by prefix, sandbox prefix, state and labels.
    expect((await cri.list({ id: id.slice(0, 12) })).map((c) => c.id)).toEqual([id]);
    expect((await cri.list({ pod_sandbox_id: pod.id.slice(0, 12) })).map((c) => c.id)).toContain(id);
    expect(
      (await cri.list({ state: { state: 'CONTAINER_RUNNING' }, label_selector: { app: 'life' } })).map(
        (c) => c.id,
      ),
    ).toEqual([id]);
    expect(await cri.list({ state: { state: 'CONTAINER_EXITED' }, label_selector: { app: 'life' } })).toEqual(
      [],
    );
    // Sandboxes are not containers.
    expect((await cri.list({ id: pod.id })).length).toBe(0);

    // A running container cannot be started again.
    expect((await grpcError(cri.start(id))).code).toBe(status.FAILED_PRECONDITION);

    // A prefix works for status as well.
    expect((await cri.status(id.slice(0, 16))).status.id).toBe(id);

    await shim.client.rt('RemoveContainer', { container_id: id });
    await expect(docker.getContainer(id).inspect()).rejects.toMatchObject({ statusCode: 404 });
    expect(await cri.list({ id })).toEqual([]);
    const gone = await grpcError(cri.status(id));
    expect(gone.code).toBe(status.NOT_FOUND);
    expect(gone.details).toContain(id);
    // Idempotent stop and remove of what is gone.
    await shim.client.rt('StopContainer', { container_id: id, timeout: 1 });
    await shim.client.rt('RemoveContainer', { container_id: id });
  });

  it('stops a process that ignores SIGTERM after the timeout, and stop is idempotent', async () => {
    const id = await cri.run(pod, 'trap "" TERM; while true; do sleep 1; done');
    // Wait until the shell has set its trap (it runs before the loop).
    await cri.sh(id, 'true');
    const started = Date.now();
    await shim.client.rt('StopContainer', { container_id: id, timeout: 2 });
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(1900);
    expect(took).toBeLessThan(15_000);
    const st = (await cri.status(id)).status;
    expect(st.state).toBe('CONTAINER_EXITED');
    expect(st.exit_code).toBe(137);
    expect(st.reason).toBe('Error');
    expect(BigInt(st.finished_at)).toBeGreaterThan(BigInt(st.started_at));
    await shim.client.rt('StopContainer', { container_id: id, timeout: 2 });
    // An exited container is not started again.
    expect((await grpcError(cri.start(id))).code).toBe(status.FAILED_PRECONDITION);
  });

  it('removes a running container', async () => {
    const id = await cri.run(pod, 'sleep 1000');
    await shim.client.rt('RemoveContainer', { container_id: id });
    await expect(docker.getContainer(id).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });

  it('reports exit codes with Completed and Error', async () => {
    const ok = await cri.run(pod, 'exit 0');
    const bad = await cri.run(pod, 'exit 3');
    const a = await cri.waitExited(ok);
    const b = await cri.waitExited(bad);
    expect([a.exit_code, a.reason]).toEqual([0, 'Completed']);
    expect([b.exit_code, b.reason]).toEqual([3, 'Error']);
    expect(BigInt(b.finished_at)).toBeGreaterThan(0n);
    expect((await cri.list({ id: ok })).map((c) => c.state)).toEqual(['CONTAINER_EXITED']);
  });

  it('reports a command that cannot run as ContainerCannotRun', async () => {
    const id = await cri.create(pod, { command: ['/no/such/binary'] });
    const err = await grpcError(cri.start(id));
    expect(err.details).toMatch(/no such file or directory/);
    const st = (await cri.status(id)).status;
    expect(st).toMatchObject({ state: 'CONTAINER_EXITED', reason: 'ContainerCannotRun' });
    expect(st.message).toMatch(/no such file or directory/);
    expect(st.exit_code).not.toBe(0);
    expect(BigInt(st.finished_at)).toBeGreaterThan(0n);
  });

  it('refuses bad requests naming the field or id', async () => {
    const create = (req: object) => grpcError(shim.client.rt('CreateContainer', req));
    let err = await create({
      pod_sandbox_id: pod.id,
      config: cri.config('x', { image: { image: 'busybox:no-such-tag' } }),
      sandbox_config: pod.config,
    });
    expect(err.code).toBe(status.NOT_FOUND);
    expect(err.details).toContain('busybox:no-such-tag');
    err = await create({
      pod_sandbox_id: 'f'.repeat(64),
      config: cri.config('x'),
      sandbox_config: pod.config,
    });
    expect(err.code).toBe(status.NOT_FOUND);
    expect(err.details).toContain('f'.repeat(64));
    err = await create({
      pod_sandbox_id: pod.id,
      config: cri.config('x', { log_path: '../../etc/evil' }),
      sandbox_config: pod.config,
    });
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toContain('config.log_path');
    err = await create({
      pod_sandbox_id: pod.id,
      config: cri.config('x', { metadata: null }),
      sandbox_config: pod.config,
    });
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toContain('config.metadata.name');
    err = await create({ pod_sandbox_id: '', config: cri.config('x') });
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    err = await create({
      pod_sandbox_id: pod.id,
      config: cri.config('x', { mounts: [{ host_path: 'relative', container_path: '/x' }] }),
      sandbox_config: pod.config,
    });
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toContain('config.mounts[0].host_path');
    // Nothing of these was left behind.
    const leftovers = await docker.listContainers({
      all: true,
      filters: { label: [`io.kubernetes.sandbox.id=${pod.id}`], name: ['k8s_x_'] },
    });
    expect(leftovers).toEqual([]);

    expect((await grpcError(cri.start('0123456789ab'))).code).toBe(status.NOT_FOUND);
    expect((await grpcError(cri.start(''))).code).toBe(status.INVALID_ARGUMENT);
    expect((await grpcError(cri.status(pod.id))).code).toBe(status.NOT_FOUND);
  });

  it('takes the image by id and by repo digest, and reports the digest as image_ref', async () => {
    const reg = process.env.DCRI_TEST_REGISTRY as string;
    const tagged = `${reg}/test/busybox:1.0`;
    const pulled = await shim.client.img<{ image_ref: string }>('PullImage', { image: { image: tagged } });
    const img = await shim.client.img<{ image: { id: string; repo_digests: string[] } }>('ImageStatus', {
      image: { image: pulled.image_ref },
    });
    const digestRef = img.image.repo_digests[0];
    expect(digestRef).toMatch(/@sha256:/);

    const byDigest = await cri.create(pod, { image: { image: digestRef }, command: ['true'] });
    const s1 = (await cri.status(byDigest)).status;
    expect(s1.image.image).toBe(digestRef);
    expect(s1.image_ref).toBe(digestRef);
    expect(s1.image_id).toBe(img.image.id);

    const byId = await cri.create(pod, { image: { image: img.image.id }, command: ['true'] });
    const s2 = (await cri.status(byId)).status;
    expect(s2.image.image).toBe(img.image.id);
    expect(s2.image_id).toBe(img.image.id);
  });

  it('creates without sandbox_config, taking pod metadata and log directory from the sandbox', async () => {
    const { container_id: id } = await shim.client.rt<{ container_id: string }>('CreateContainer', {
      pod_sandbox_id: pod.id.slice(0, 12),
      config: cri.config('bare', { command: ['true'] }),
    });
    const m = pod.config.metadata;
    expect((await docker.getContainer(id).inspect()).Name).toBe(
      `/k8s_bare_${m.name}_${m.namespace}_${m.uid}_0`,
    );
    expect((await cri.status(id)).status.log_path).toBe(`${pod.config.log_directory}/bare/0.log`);
  });

  it('a second create of the same name and attempt replaces a holder that never ran (no twin)', async () => {
    // Issue 14: the kubelet's retry of a create whose client gave up must not leave two containers
    // for one (pod, name, attempt); a holder that is not running is removed and made again.
    const m = pod.config.metadata;
    const a = await cri.create(pod, { command: ['true'] }, 'twin');
    const b = await cri.create(pod, { command: ['true'] }, 'twin');
    expect(b).not.toBe(a);
    const nb = (await docker.getContainer(b).inspect()).Name;
    expect(nb).toBe(`/k8s_twin_${m.name}_${m.namespace}_${m.uid}_0`);
    await expect(docker.getContainer(a).inspect()).rejects.toMatchObject({ statusCode: 404 });
    expect((await cri.status(b)).status.metadata).toEqual({ name: 'twin', attempt: 0 });
  });

  it('answers verbose status with the engine view', async () => {
    const id = await cri.run(pod, 'sleep 1000');
    const { info } = await cri.status(id, true);
    const parsed = JSON.parse(info.info) as { id: string; pid: number; sandboxID: string };
    expect(parsed.id).toBe(id);
    expect(parsed.sandboxID).toBe(pod.id);
    expect(parsed.pid).toBeGreaterThan(0);
  });

  it('reads containers made by dockershim or cri-dockerd (no labels of ours) and manages them', async () => {
    const m = pod.config.metadata;
    const made = await docker.createContainer({
      name: `k8s_legacy_${m.name}_${m.namespace}_${m.uid}_2`,
      Image: 'busybox:latest',
      Cmd: ['sleep', '100000'],
      Labels: {
        'io.kubernetes.docker.type': 'container',
        'io.kubernetes.sandbox.id': pod.id,
        'io.kubernetes.container.logpath': '/var/log/pods/x/legacy/2.log',
        'io.kubernetes.container.name': 'legacy',
        'annotation.io.kubernetes.container.restartCount': '2',
      },
      HostConfig: { NetworkMode: `container:${pod.id}`, IpcMode: `container:${pod.id}` },
    });
    await made.start();
    // The index learns of it from the engine's events.
    let listed = await cri.list({ id: made.id });
    while (!listed.length || listed[0].state !== 'CONTAINER_RUNNING') {
      await new Promise((r) => setTimeout(r, 50));
      listed = await cri.list({ id: made.id });
    }
    expect(listed[0]).toMatchObject({
      pod_sandbox_id: pod.id,
      metadata: { name: 'legacy', attempt: 2 },
      annotations: { 'io.kubernetes.container.restartCount': '2' },
      labels: { 'io.kubernetes.container.name': 'legacy' },
    });
    const st = (await cri.status(made.id)).status;
    expect(st).toMatchObject({
      metadata: { name: 'legacy', attempt: 2 },
      state: 'CONTAINER_RUNNING',
      log_path: '/var/log/pods/x/legacy/2.log',
      image: { image: 'busybox:latest' },
    });
    expect(st.image_ref).toMatch(/^sha256:/);
    expect((await cri.exec(made.id, ['true'])).exit_code).toBe(0);
    await shim.client.rt('StopContainer', { container_id: made.id, timeout: 0 });
    await shim.client.rt('RemoveContainer', { container_id: made.id });
    expect(await cri.list({ id: made.id })).toEqual([]);
  });

  it('sees every container as it was after a shim restart', async () => {
    const running = await cri.run(pod, 'sleep 100000', { labels: { 'dcri-test': 'yes', keep: 'r' } });
    const exited = await cri.run(pod, 'exit 4', { labels: { 'dcri-test': 'yes', keep: 'e' } });
    await cri.waitExited(exited);
    const before = await Promise.all([running, exited].map(async (id) => (await cri.status(id)).status));
    const listedBefore = await cri.list({ pod_sandbox_id: pod.id });

    await shim.stop();
    shim = await startShim();
    cri = new Cri(shim);

    const after = await Promise.all([running, exited].map(async (id) => (await cri.status(id)).status));
    expect(after).toEqual(before);
    const listedAfter = await cri.list({ pod_sandbox_id: pod.id });
    const byId = (l: typeof listedBefore) => [...l].sort((a, b) => a.id.localeCompare(b.id));
    expect(byId(listedAfter)).toEqual(byId(listedBefore));
    expect((await cri.exec(running, ['true'])).exit_code).toBe(0);
  });
});
