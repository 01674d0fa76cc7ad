import fs from 'fs';
import os from 'os';
import path from 'path';
import { status } from '@grpc/grpc-js';
import { startShim, type TestShim } from '../support/shim';
import { grpcError } from '../support/cri-client';
import { removeTestPods, testDocker } from '../support/pod-config';
import { Cri, type Pod } from './container-support';

/**
 * What cri-api v0.33–v0.37 added, through a client generated from the new proto on the real
 * socket: UpdatePodSandboxResources kept across a restart, the resize round trip, stop_signal,
 * env values as bytes, and image_ref.
 */
describe('CRI fields and calls of Kubernetes 1.33–1.37', () => {
  let shim: TestShim;
  let cri: Cri;
  let pod: Pod;
  const docker = testDocker();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dcri-v037-root-'));
  let stopSignalImage = '';

  beforeAll(async () => {
    shim = await startShim({ rootDirectory: root });
    cri = new Cri(shim);
    pod = await cri.pod('v037');
    // An image whose STOPSIGNAL is SIGUSR2, made from busybox without a registry: a commit keeps
    // the container's config (Docker 20.10's commit takes no STOPSIGNAL change).
    const base = await docker.createContainer({
      Image: 'busybox:latest',
      Cmd: ['true'],
      StopSignal: 'SIGUSR2',
    });
    try {
      const res = (await base.commit({ comment: 'dcri-v037' })) as { Id: string };
      stopSignalImage = res.Id;
    } finally {
      await base.remove({ force: true });
    }
  });

  afterAll(async () => {
    await removeTestPods(shim.client);
    await shim.stop();
    if (stopSignalImage)
      await docker
        .getImage(stopSignalImage)
        .remove({ force: true })
        .catch(() => undefined);
    fs.rmSync(root, { recursive: true, force: true });
  });

  const verboseInfo = async (client: TestShim['client'], id: string): Promise<Record<string, string>> =>
    (
      await client.rt<{ info: Record<string, string> }>('PodSandboxStatus', {
        pod_sandbox_id: id,
        verbose: true,
      })
    ).info;

  it('UpdatePodSandboxResources: recorded, reported after a restart of docker-cri, gone with the pod', async () => {
    const resources = {
      cpu_period: 100000,
      cpu_quota: 150000,
      cpu_shares: 1536,
      memory_limit_in_bytes: 256 << 20,
    };
    await shim.client.rt('UpdatePodSandboxResources', {
      pod_sandbox_id: pod.id,
      overhead: { cpu_shares: 10, memory_limit_in_bytes: 1 << 20 },
      resources,
    });
    const recorded = JSON.parse((await verboseInfo(shim.client, pod.id)).podResources);
    expect(recorded.resources).toMatchObject({
      cpu_quota: '150000',
      memory_limit_in_bytes: String(256 << 20),
    });
    expect(recorded.overhead).toMatchObject({ cpu_shares: '10' });

    // A new docker-cri on the same root directory (and engine) reports the same.
    await shim.stop();
    shim = await startShim({ rootDirectory: root });
    cri = new Cri(shim);
    const again = JSON.parse((await verboseInfo(shim.client, pod.id)).podResources);
    expect(again).toEqual(recorded);

    const bad = await grpcError(
      shim.client.rt('UpdatePodSandboxResources', {
        pod_sandbox_id: pod.id,
        resources: { memory_limit_in_bytes: -5 },
      }),
    );
    expect(bad.code).toBe(status.INVALID_ARGUMENT);
    expect(bad.details).toMatch(/resources.memory_limit_in_bytes/);
    const badSet = await grpcError(
      shim.client.rt('UpdatePodSandboxResources', {
        pod_sandbox_id: pod.id,
        resources: { cpuset_cpus: 'x' },
      }),
    );
    expect(badSet.code).toBe(status.INVALID_ARGUMENT);
    const empty = await grpcError(
      shim.client.rt('UpdatePodSandboxResources', { pod_sandbox_id: '', resources }),
    );
    expect(empty.code).toBe(status.INVALID_ARGUMENT);
    const missing = await grpcError(
      shim.client.rt('UpdatePodSandboxResources', { pod_sandbox_id: 'f'.repeat(64), resources }),
    );
    expect(missing.code).toBe(status.NOT_FOUND);

    // A record whose pod is gone (removed while docker-cri was down) is dropped at the next update.
    const stale = path.join(root, 'pod-resources', `${'e'.repeat(64)}.json`);
    fs.writeFileSync(stale, JSON.stringify({ resources: {} }));
    await shim.client.rt('UpdatePodSandboxResources', { pod_sandbox_id: pod.id, resources });
    expect(fs.existsSync(stale)).toBe(false);

    // Another pod, removed: its record goes with it.
    const other = await cri.pod('v037-gone');
    await shim.client.rt('UpdatePodSandboxResources', { pod_sandbox_id: other.id, resources });
    expect(fs.existsSync(path.join(root, 'pod-resources', `${other.id}.json`))).toBe(true);
    await shim.client.rt('StopPodSandbox', { pod_sandbox_id: other.id });
    await shim.client.rt('RemovePodSandbox', { pod_sandbox_id: other.id });
    expect(fs.existsSync(path.join(root, 'pod-resources', `${other.id}.json`))).toBe(false);
  });

  it('resize round trip: UpdateContainerResources shows in ContainerStatus.resources', async () => {
    const id = await cri.run(pod, 'sleep 100000', {
      linux: {
        resources: { cpu_period: 100000, cpu_quota: 50000, cpu_shares: 512, memory_limit_in_bytes: 64 << 20 },
      },
    });
    expect((await cri.status(id)).status.resources?.linux).toMatchObject({
      cpu_period: '100000',
      cpu_quota: '50000',
      cpu_shares: '512',
      memory_limit_in_bytes: String(64 << 20),
    });
    await shim.client.rt('UpdateContainerResources', {
      container_id: id,
      linux: { cpu_period: 100000, cpu_quota: 200000, cpu_shares: 2048, memory_limit_in_bytes: 96 << 20 },
    });
    expect((await cri.status(id)).status.resources?.linux).toMatchObject({
      cpu_period: '100000',
      cpu_quota: '200000',
      cpu_shares: '2048',
      memory_limit_in_bytes: String(96 << 20),
    });
  });

  it('stop_signal: StopContainer sends SIGUSR1 to a container that traps it; status reports it', async () => {
    const id = await cri.run(
      pod,
      `trap 'echo got-usr1; exit 3' USR1; trap 'echo got-term; exit 4' TERM; echo trapped; while true; do sleep 0.2; done`,
      { stop_signal: 'SIGNAL_SIGUSR1' },
    );
    const st = (await cri.status(id)).status as { stop_signal?: string; log_path: string };
    // The stop must come after the shell set its traps: pid 1 ignores a signal it has no handler for,
    // and Docker would kill it after the grace period (137).
    const logFile = path.join(pod.config.log_directory, st.log_path.split('/').slice(-2).join('/'));
    for (let tries = 0; tries < 200; tries++) {
      if (fs.existsSync(logFile) && fs.readFileSync(logFile, 'utf8').includes('trapped')) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(st.stop_signal).toBe('SIGNAL_SIGUSR1');
    expect(((await docker.getContainer(id).inspect()).Config as { StopSignal?: string }).StopSignal).toBe(
      'SIGUSR1',
    );
    await shim.client.rt('StopContainer', { container_id: id, timeout: 30 });
    const done = await cri.waitExited(id);
    expect(done.exit_code).toBe(3);
    const log = fs.readFileSync(
      path.join(pod.config.log_directory, done.log_path.split('/').slice(-2).join('/')),
      'utf8',
    );
    expect(log).toMatch(/ stdout F got-usr1\n/);
  });

  it("stop_signal unset: the image's STOPSIGNAL, else SIGTERM", async () => {
    const plain = await cri.create(pod, { command: ['sleep', '100000'] });
    expect(((await cri.status(plain)).status as { stop_signal?: string }).stop_signal).toBe('SIGNAL_SIGTERM');
    const fromImage = await cri.create(pod, {
      image: { image: stopSignalImage },
      command: ['sleep', '100000'],
    });
    expect(((await cri.status(fromImage)).status as { stop_signal?: string }).stop_signal).toBe(
      'SIGNAL_SIGUSR2',
    );
    const bad = await grpcError(cri.create(pod, { stop_signal: 999 }));
    expect(bad.code).toBe(status.INVALID_ARGUMENT);
  });

  it('env values are bytes: any UTF-8 value without NUL arrives byte for byte; others are refused', async () => {
    const value = Buffer.from([
      0x01, 0x7f, 0x09, 0x0a, 0xc3, 0xa9, 0xe2, 0x98, 0x83, 0xf0, 0x9f, 0x90, 0xb3, 0x3d, 0x20, 0x24,
    ]);
    // No shell as pid 1: a shell would re-export its variables as it sees fit.
    const id = await cri.create(pod, { command: ['sleep', '100000'], envs: [{ key: 'BIN', value }] });
    await cri.start(id);
    // Read from the host: the pod shares its PID namespace, so pid 1 inside is the pause process.
    const pid = (await docker.getContainer(id).inspect()).State.Pid;
    // Docker's start returns once runc has told its init to exec the command, not once it has: until
    // then /proc shows runc's own process and environment.
    for (let tries = 0; tries < 200; tries++) {
      if (fs.readFileSync(`/proc/${pid}/cmdline`).toString().startsWith('sleep\0')) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const environ = fs.readFileSync(`/proc/${pid}/environ`);
    const entries = [];
    for (let at = 0; at < environ.length;) {
      const end = environ.indexOf(0, at);
      entries.push(environ.subarray(at, end < 0 ? environ.length : end));
      at = end < 0 ? environ.length : end + 1;
    }
    const bin = entries.find((e) => e.subarray(0, 4).toString() === 'BIN=');
    expect(bin?.subarray(4)).toEqual(value);

    const bad = await grpcError(
      cri.create(pod, { envs: [{ key: 'BAD', value: Buffer.from([0x61, 0xff]) }] }),
    );
    expect(bad.code).toBe(status.INVALID_ARGUMENT);
    expect(bad.details).toMatch(/config.envs\[0\] "BAD"/);
  });

  it('image_ref: the image the kubelet resolved, by id, wins over the name', async () => {
    const id = await cri.create(pod, {
      image: { image: 'busybox:latest', image_ref: stopSignalImage },
      command: ['sleep', '100000'],
    });
    const st = (await cri.status(id)).status;
    expect(st.image_id).toBe(stopSignalImage);
    expect((await docker.getContainer(id).inspect()).Image).toBe(stopSignalImage);
    const img = await shim.client.img<{ image: { id: string } }>('ImageStatus', {
      image: { image: 'busybox:latest', image_ref: stopSignalImage },
    });
    expect(img.image.id).toBe(stopSignalImage);
    const bad = await grpcError(
      cri.create(pod, { image: { image: 'busybox:latest', image_ref: 'sha256:' + 'e'.repeat(64) } }),
    );
    expect(bad.code).toBe(status.NOT_FOUND);
  });

  it('RuntimeFeatures match what Docker can do; mount_options it cannot apply are refused by name', async () => {
    const st = await shim.client.rt<{ features: Record<string, boolean> }>('Status', {});
    expect(st.features).toEqual({
      supplemental_groups_policy: false,
      user_namespaces_host_network: false,
      mount_options: false,
    });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dcri-v037-mnt-'));
    try {
      const bad = await grpcError(
        cri.create(pod, { mounts: [{ container_path: '/m', host_path: dir, mount_options: ['noexec'] }] }),
      );
      expect(bad.code).toBe(status.INVALID_ARGUMENT);
      expect(bad.details).toContain('config.mounts[0].mount_options: "noexec"');
      const id = await cri.run(pod, 'sleep 100000', {
        mounts: [{ container_path: '/m', host_path: dir, mount_options: ['ro', 'rprivate'] }],
      });
      const m = (await docker.getContainer(id).inspect()).Mounts.find((x) => x.Destination === '/m');
      expect(m).toMatchObject({ RW: false, Propagation: 'rprivate' });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('CheckpointContainer, CheckpointPod, RestorePod: UNIMPLEMENTED saying what the node lacks', async () => {
    const lacks = /needs Docker's checkpoint API, which this node lacks: .*(experimental mode|CRIU)/;
    const c = await grpcError(
      shim.client.rt('CheckpointContainer', { container_id: 'x', location: '/tmp/x.tar' }),
    );
    expect(c.code).toBe(status.UNIMPLEMENTED);
    expect(c.details).toMatch(lacks);
    const p = await grpcError(
      shim.client.rt('CheckpointPod', {
        pod_sandbox_id: pod.id,
        output_path: '/tmp/x',
        container_ids: ['x'],
      }),
    );
    expect(p.code).toBe(status.UNIMPLEMENTED);
    expect(p.details).toMatch(/CheckpointPod/);
    const r = await grpcError(shim.client.rt('RestorePod', { checkpoint_path: '/tmp/x' }));
    expect(r.code).toBe(status.UNIMPLEMENTED);
    expect(r.details).toMatch(/RestorePod/);
  });

  it('a list stream whose list fails ends with that error', async () => {
    const err = await grpcError(
      shim.client.collect('StreamImages', { filter: { image: { image: 'Not A Reference' } } }, 'image'),
    );
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/filter.image.image/);
  });
});
