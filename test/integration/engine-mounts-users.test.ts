import { execFileSync } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { status } from '@grpc/grpc-js';
import { startShim, type TestShim } from '../support/shim';
import { grpcError } from '../support/cri-client';
import { removeTestPods, testDocker } from '../support/pod-config';
import { Cri, type Pod } from './container-support';

interface StatusAnswer {
  runtime_handlers: Array<{ name: string; features: { recursive_read_only_mounts: boolean } }>;
  features: { supplemental_groups_policy: boolean } | null;
}

const numbers = (v: string) => v.split('.').map(Number);
const atLeast = (v: string, min: string) => {
  const [a, b] = [numbers(v), numbers(min)];
  return a[0] !== b[0] ? a[0] > b[0] : (a[1] ?? 0) >= (b[1] ?? 0);
};

/**
 * What differs between Docker engines, checked on whichever engine DOCKER_HOST names (npm test runs
 * this once on 20.10 and once on 28): how read-only a read-only mount is, recursive read-only
 * mounts, supplemental groups, and the ids the container's process really runs with.
 */
describe('read-only mounts and users on this engine', () => {
  let shim: TestShim;
  let cri: Cri;
  let pod: Pod;
  let canRecursive: boolean;
  let engine: string;
  const docker = testDocker();
  const dirs: string[] = [];
  const hostMounts: string[] = [];
  const sc = (security: object) => ({ linux: { security_context: security } });

  /** A host directory with a writable tmpfs mounted beneath it, at `sub`. */
  const dirWithTmpfsBeneath = (): string => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'dcri-rro-'));
    dirs.push(d);
    fs.mkdirSync(path.join(d, 'sub'));
    execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', path.join(d, 'sub')]);
    hostMounts.push(path.join(d, 'sub'));
    return d;
  };
  const writes = async (id: string, file: string) =>
    (await cri.exec(id, ['sh', '-c', `echo x > ${file}`])).exit_code === 0;

  beforeAll(async () => {
    shim = await startShim();
    cri = new Cri(shim);
    pod = await cri.pod('engine');
    const v = await docker.version();
    engine = `docker ${v.Version} (API ${v.ApiVersion})`;
    // Independent of src/docker/capabilities.ts on purpose: Docker's documented thresholds.
    canRecursive = atLeast(v.ApiVersion, '1.44') && atLeast(v.KernelVersion, '5.12');
  });
  afterAll(async () => {
    await removeTestPods(shim.client);
    await shim.stop();
    for (const m of hostMounts.reverse()) {
      try {
        execFileSync('umount', ['-l', m]);
      } catch {
        // already gone
      }
    }
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  it('advertises recursive read-only mounts for every handler exactly when the engine can, and no Strict', async () => {
    const st = await shim.client.rt<StatusAnswer>('Status', {});
    expect(st.runtime_handlers.length).toBeGreaterThan(1);
    for (const h of st.runtime_handlers) {
      expect({ engine, handler: h.name, rro: h.features.recursive_read_only_mounts }).toEqual({
        engine,
        handler: h.name,
        rro: canRecursive,
      });
    }
    expect(st.features?.supplemental_groups_policy ?? false).toBe(false);
    const verbose = await shim.client.rt<{ info: Record<string, string> }>('Status', { verbose: true });
    const v = await docker.version();
    expect(JSON.parse(verbose.info.docker).capabilities).toMatchObject({
      serverVersion: v.Version,
      apiVersion: v.ApiVersion,
      recursiveReadOnly: canRecursive,
    });
  });

  it('keeps a read-only mount non-recursive: the tmpfs beneath it stays writable', async () => {
    const host = dirWithTmpfsBeneath();
    const id = await cri.run(pod, 'sleep 100000', {
      mounts: [{ host_path: host, container_path: '/ro', readonly: true }],
    });
    expect(await writes(id, '/ro/top')).toBe(false);
    expect(await writes(id, '/ro/sub/file')).toBe(true);
    expect(fs.readFileSync(path.join(host, 'sub', 'file'), 'utf8')).toBe('x\n');
    const m = (await cri.status(id)).status.mounts.find((x) => x.container_path === '/ro');
    expect(m).toMatchObject({ host_path: host, readonly: true });
  });

  it('keeps a read-only mount with selinux_relabel non-recursive on a host without SELinux: the tmpfs beneath it stays writable', async () => {
    const info = await docker.info();
    // On an engine that labels containers the relabel wins (a Bind, recursive on Docker ≥ 25): README.
    const labelled = (info.SecurityOptions ?? []).some((o: string) => o.split(',').includes('name=selinux'));
    const host = dirWithTmpfsBeneath();
    const id = await cri.run(pod, 'sleep 100000', {
      mounts: [{ host_path: host, container_path: '/ro', readonly: true, selinux_relabel: true }],
    });
    expect(await writes(id, '/ro/top')).toBe(false);
    // The container's own view: the tmpfs at /ro/sub is mounted rw (field 6 of mountinfo).
    const mountinfo = (await cri.exec(id, ['cat', '/proc/self/mountinfo'])).stdout.toString();
    const sub = mountinfo.split('\n').find((l) => l.split(' ')[4] === '/ro/sub');
    expect({ engine, labelled, options: sub?.split(' ')[5].split(',')[0] }).toEqual({
      engine,
      labelled: false,
      options: 'rw',
    });
    expect(await writes(id, '/ro/sub/file')).toBe(true);
  });

  it('creates a missing host directory for a read-only mount, as for any bind', async () => {
    const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'dcri-rro-'));
    dirs.push(parent);
    const missing = path.join(parent, 'not', 'yet');
    const id = await cri.run(pod, 'sleep 100000', {
      mounts: [{ host_path: missing, container_path: '/ro', readonly: true }],
    });
    expect(fs.statSync(missing).isDirectory()).toBe(true);
    expect(await writes(id, '/ro/x')).toBe(false);
  });

  it('makes recursive_read_only recursive where the engine can, and refuses it where it cannot', async () => {
    const host = dirWithTmpfsBeneath();
    const mount = { host_path: host, container_path: '/rro', readonly: true, recursive_read_only: true };
    if (canRecursive) {
      const id = await cri.run(pod, 'sleep 100000', { mounts: [mount] });
      expect(await writes(id, '/rro/top')).toBe(false);
      expect(await writes(id, '/rro/sub/file')).toBe(false);
      const m = (await cri.status(id)).status.mounts.find((x) => x.container_path === '/rro');
      expect(m).toMatchObject({ readonly: true, recursive_read_only: true });
    } else {
      const err = await grpcError(cri.create(pod, { command: ['true'], mounts: [mount] }));
      expect(err.code).toBe(status.INVALID_ARGUMENT);
      expect(err.details).toMatch(
        /config\.mounts\[0\]\.recursive_read_only: this Docker engine cannot.*\/rro/,
      );
    }
  });

  it('refuses a recursive read-only mount that is not read-only or not private, naming the mount', async () => {
    const host = dirWithTmpfsBeneath();
    const before = (await cri.list({ pod_sandbox_id: pod.id })).length;
    const notReadOnly = await grpcError(
      cri.create(pod, {
        command: ['true'],
        mounts: [
          { host_path: host, container_path: '/ok' },
          { host_path: host, container_path: '/rw', recursive_read_only: true },
        ],
      }),
    );
    expect(notReadOnly.code).toBe(status.INVALID_ARGUMENT);
    expect(notReadOnly.details).toMatch(/config\.mounts\[1\]\.recursive_read_only needs readonly.*"\/rw"/);
    const notPrivate = await grpcError(
      cri.create(pod, {
        command: ['true'],
        mounts: [
          {
            host_path: host,
            container_path: '/slave',
            readonly: true,
            recursive_read_only: true,
            propagation: 'PROPAGATION_HOST_TO_CONTAINER',
          },
        ],
      }),
    );
    expect(notPrivate.code).toBe(status.INVALID_ARGUMENT);
    expect(notPrivate.details).toMatch(
      /config\.mounts\[0\]\.recursive_read_only needs propagation.*"\/slave"/,
    );
    // Nothing was left behind by the refused creates.
    expect((await cri.list({ pod_sandbox_id: pod.id })).length).toBe(before);
  });

  it('refuses SupplementalGroupsPolicy Strict and says why; Merge adds the image /etc/group groups', async () => {
    const strict = await grpcError(
      cri.create(pod, {
        command: ['true'],
        ...sc({ run_as_user: { value: 1000 }, supplemental_groups_policy: 'Strict' }),
      }),
    );
    expect(strict.code).toBe(status.INVALID_ARGUMENT);
    expect(strict.details).toMatch(/supplemental_groups_policy Strict.*\/etc\/group/);

    // busybox's /etc/group (scripts/build-images.sh) lists user app (1000) in group extra (2000).
    const merge = await cri.run(
      pod,
      'sleep 100000',
      sc({ run_as_user: { value: 1000 }, supplemental_groups: [3000], supplemental_groups_policy: 'Merge' }),
    );
    const groups = (await cri.sh(merge, 'id -G')).trim().split(' ').sort();
    expect(groups).toEqual(['1000', '2000', '3000']);
  });

  it('reports in ContainerStatus.user the ids the container process really has', async () => {
    const cases = [
      sc({}),
      sc({ run_as_user: { value: 1000 } }),
      sc({ run_as_user: { value: 1000 }, run_as_group: { value: 4000 }, supplemental_groups: [3000, 5000] }),
      sc({ run_as_username: 'nobody', supplemental_groups: [42] }),
    ];
    for (const security of cases) {
      const id = await cri.run(pod, 'sleep 100000', security);
      const pid = (await docker.getContainer(id).inspect()).State.Pid;
      const text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
      const field = (name: string) => (new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(text)?.[1] ?? '').trim();
      const user = (await cri.status(id)).status.user?.linux;
      expect({
        uid: user?.uid,
        gid: user?.gid,
        groups: [...(user?.supplemental_groups ?? [])].sort(),
      }).toEqual({
        uid: field('Uid').split(/\s+/)[1],
        gid: field('Gid').split(/\s+/)[1],
        groups: field('Groups').split(/\s+/).filter(Boolean).sort(),
      });
    }
  });
});
