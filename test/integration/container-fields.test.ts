import { execFileSync } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { status } from '@grpc/grpc-js';
import { startShim, type TestShim } from '../support/shim';
import { grpcError } from '../support/cri-client';
import { removeTestPods, testDocker } from '../support/pod-config';
import { Cri, type Pod } from './container-support';

/** Every ContainerConfig field, checked from inside the running container. */
describe('ContainerConfig honoured inside the container', () => {
  let shim: TestShim;
  let cri: Cri;
  let pod: Pod;
  const docker = testDocker();
  const dirs: string[] = [];
  const hostMounts: string[] = [];

  const tmpDir = (): string => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'dcri-ctr-'));
    dirs.push(d);
    return d;
  };
  const sc = (security: object) => ({ linux: { security_context: security } });
  const statusLine = async (id: string, field: string) =>
    (await cri.sh(id, `grep '^${field}:' /proc/self/status`)).split(':')[1].trim();

  beforeAll(async () => {
    shim = await startShim();
    cri = new Cri(shim);
    pod = await cri.pod('fields');
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

  it('sets env, working dir, stdin flags and Kubernetes command/args', async () => {
    const id = await cri.create(pod, {
      command: ['sh', '-c'],
      args: ['sleep 100000'],
      envs: [
        { key: 'GREETING', value: Buffer.from('hello world') },
        { key: 'EQ', value: Buffer.from('a=b') },
      ],
      working_dir: '/etc',
      stdin: true,
      stdin_once: true,
    });
    await cri.start(id);
    expect(await cri.sh(id, 'echo "$GREETING|$EQ|$(pwd)"')).toBe('hello world|a=b|/etc\n');
    const inspect = await docker.getContainer(id).inspect();
    expect(inspect.Config.OpenStdin).toBe(true);
    expect(inspect.Config.StdinOnce).toBe(true);
    expect(inspect.Config.Tty).toBe(false);
    expect(inspect.Path).toBe('sh');
    expect(inspect.Args).toEqual(['-c', 'sleep 100000']);
  });

  it('runs as the numeric user and group with supplemental groups', async () => {
    const id = await cri.run(
      pod,
      'sleep 100000',
      sc({ run_as_user: { value: 1000 }, run_as_group: { value: 2000 }, supplemental_groups: [3000, 4000] }),
    );
    expect(await cri.sh(id, 'echo $(id -u) $(id -g)')).toBe('1000 2000\n');
    expect((await cri.sh(id, 'id -G')).trim().split(' ')).toEqual(
      expect.arrayContaining(['2000', '3000', '4000']),
    );
    const st = (await cri.status(id)).status;
    expect(st.user?.linux).toMatchObject({ uid: '1000', gid: '2000' });
    expect(st.user?.linux?.supplemental_groups).toEqual(expect.arrayContaining(['3000', '4000']));
  });

  it('runs as a user given by name', async () => {
    const id = await cri.run(pod, 'sleep 100000', sc({ run_as_username: 'app' }));
    expect(await cri.sh(id, 'echo $(id -un) $(id -u)')).toBe('app 1000\n');
    const err = await grpcError(
      cri.create(pod, { command: ['true'], ...sc({ run_as_group: { value: 5 } }) }),
    );
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toContain('run_as_group');
  });

  it('adds and drops capabilities, with or without the CAP_ prefix, and ALL', async () => {
    const id = await cri.run(
      pod,
      'sleep 100000',
      sc({ capabilities: { add_capabilities: ['NET_ADMIN', 'CAP_SYS_TIME'], drop_capabilities: ['ALL'] } }),
    );
    // CAP_NET_ADMIN is bit 12, CAP_SYS_TIME bit 25.
    expect(await statusLine(id, 'CapEff')).toBe(((1n << 12n) | (1n << 25n)).toString(16).padStart(16, '0'));
    const plain = await cri.run(
      pod,
      'sleep 100000',
      sc({ capabilities: { drop_capabilities: ['net_raw'] } }),
    );
    expect(BigInt(`0x${await statusLine(plain, 'CapEff')}`) & (1n << 13n)).toBe(0n);
    const priv = await cri.run(pod, 'sleep 100000', sc({ privileged: true }));
    expect(BigInt(`0x${await statusLine(priv, 'CapEff')}`) & (1n << 21n)).not.toBe(0n); // CAP_SYS_ADMIN
  });

  it('makes the root filesystem read-only, masks and write-protects paths', async () => {
    const ro = await cri.run(pod, 'sleep 100000', sc({ readonly_rootfs: true }));
    const w = await cri.exec(ro, ['sh', '-c', 'touch /probe']);
    expect(w.exit_code).not.toBe(0);
    expect(w.stderr.toString()).toMatch(/Read-only file system/);

    const masked = await cri.run(
      pod,
      'sleep 100000',
      sc({ masked_paths: ['/proc/version', '/etc/group'], readonly_paths: ['/etc'] }),
    );
    expect(await cri.sh(masked, 'cat /proc/version; cat /etc/group; echo end')).toBe('end\n');
    expect((await cri.exec(masked, ['sh', '-c', 'touch /etc/probe'])).exit_code).not.toBe(0);
    expect((await cri.exec(masked, ['sh', '-c', 'touch /probe'])).exit_code).toBe(0);
  });

  it('applies no_new_privs and the seccomp choices (runtime default, unconfined, a localhost profile)', async () => {
    const dflt = await cri.run(
      pod,
      'sleep 100000',
      sc({ no_new_privs: true, seccomp: { profile_type: 'RuntimeDefault' } }),
    );
    expect(await statusLine(dflt, 'NoNewPrivs')).toBe('1');
    expect(await statusLine(dflt, 'Seccomp')).toBe('2');
    const unconfined = await cri.run(pod, 'sleep 100000', sc({ seccomp: { profile_type: 'Unconfined' } }));
    expect(await statusLine(unconfined, 'Seccomp')).toBe('0');
    expect(await statusLine(unconfined, 'NoNewPrivs')).toBe('0');

    const profile = path.join(tmpDir(), 'deny-mkdir.json');
    fs.writeFileSync(
      profile,
      JSON.stringify({
        defaultAction: 'SCMP_ACT_ALLOW',
        syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' }],
      }),
    );
    const local = await cri.run(
      pod,
      'sleep 100000',
      sc({ seccomp: { profile_type: 'Localhost', localhost_ref: profile } }),
    );
    const m = await cri.exec(local, ['mkdir', '/probe-dir']);
    expect(m.exit_code).not.toBe(0);
    expect(m.stderr.toString()).toMatch(/not permitted/);
    expect((await cri.exec(local, ['touch', '/probe-file'])).exit_code).toBe(0);

    const missing = await grpcError(
      cri.create(pod, sc({ seccomp: { profile_type: 'Localhost', localhost_ref: '/no/such/profile.json' } })),
    );
    expect(missing.code).toBe(status.INVALID_ARGUMENT);
    expect(missing.details).toContain('/no/such/profile.json');
  });

  it('binds mounts read-only or not, and with host-to-container and bidirectional propagation', async () => {
    const shared = tmpDir();
    // A shared mount point on the host, as kubelet's pod directories are.
    execFileSync('mount', ['--bind', shared, shared]);
    hostMounts.push(shared);
    execFileSync('mount', ['--make-rshared', shared]);
    const plain = tmpDir();
    fs.writeFileSync(path.join(plain, 'hello'), 'from host');

    const id = await cri.run(pod, 'sleep 100000', {
      mounts: [
        { host_path: plain, container_path: '/data/ro', readonly: true },
        { host_path: plain, container_path: '/data/rw' },
        { host_path: shared, container_path: '/data/slave', propagation: 'PROPAGATION_HOST_TO_CONTAINER' },
        { host_path: shared, container_path: '/data/private', propagation: 'PROPAGATION_PRIVATE' },
      ],
    });
    expect(await cri.sh(id, 'cat /data/ro/hello')).toBe('from host');
    expect((await cri.exec(id, ['sh', '-c', 'echo x > /data/ro/new'])).exit_code).not.toBe(0);
    await cri.sh(id, 'echo x > /data/rw/new');
    expect(fs.readFileSync(path.join(plain, 'new'), 'utf8')).toBe('x\n');

    // A mount made on the host after the start reaches the rslave mount only.
    const sub = path.join(shared, 'late');
    fs.mkdirSync(sub);
    execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', sub]);
    hostMounts.push(sub);
    fs.writeFileSync(path.join(sub, 'marker'), 'late');
    expect(await cri.sh(id, 'cat /data/slave/late/marker')).toBe('late');
    expect((await cri.exec(id, ['cat', '/data/private/late/marker'])).exit_code).not.toBe(0);

    const st = (await cri.status(id)).status;
    const byPath = Object.fromEntries(st.mounts.map((m) => [m.container_path, m]));
    expect(byPath['/data/ro']).toMatchObject({ host_path: plain, readonly: true });
    expect(byPath['/data/slave'].propagation).toBe('PROPAGATION_HOST_TO_CONTAINER');
    expect(byPath['/data/private'].propagation).toBe('PROPAGATION_PRIVATE');

    // Bidirectional (privileged, as the kubelet requires): a mount made inside shows on the host.
    const bidi = await cri.run(pod, 'sleep 100000', {
      mounts: [
        { host_path: shared, container_path: '/data/shared', propagation: 'PROPAGATION_BIDIRECTIONAL' },
      ],
      ...sc({ privileged: true }),
    });
    const inner = path.join(shared, 'inner');
    fs.mkdirSync(inner);
    hostMounts.push(inner);
    await cri.sh(bidi, 'mount -t tmpfs tmpfs /data/shared/inner && echo in > /data/shared/inner/marker');
    expect(fs.readFileSync(path.join(inner, 'marker'), 'utf8')).toBe('in\n');
    expect((await cri.status(bidi)).status.mounts[0].propagation).toBe('PROPAGATION_BIDIRECTIONAL');
  });

  it('accepts SELinux and AppArmor options (no-ops where the host has neither)', async () => {
    const id = await cri.run(
      pod,
      'sleep 100000',
      sc({
        selinux_options: { user: 'system_u', role: 'system_r', type: 'spc_t', level: 's0:c1,c2' },
        apparmor: { profile_type: 'Unconfined' },
      }),
    );
    const opts = (await docker.getContainer(id).inspect()).HostConfig.SecurityOpt as string[];
    expect(opts).toEqual(
      expect.arrayContaining(['label=type:spc_t', 'label=level:s0:c1,c2', 'apparmor=unconfined']),
    );
    expect((await cri.status(id)).status.state).toBe('CONTAINER_RUNNING');
  });

  it('passes devices with their path in the container and permissions', async () => {
    const id = await cri.run(pod, 'sleep 100000', {
      devices: [{ host_path: '/dev/zero', container_path: '/dev/myzero', permissions: 'rwm' }],
    });
    expect(await cri.sh(id, 'head -c 4 /dev/myzero | od -An -tx1')).toMatch(/00 00 00 00/);
    expect(await cri.sh(id, 'ls -l /dev/myzero')).toMatch(/^c/);
  });

  it('puts cgroup limits in place and updates them on the live container', async () => {
    const id = await cri.run(pod, 'sleep 100000', {
      linux: {
        resources: {
          cpu_period: 100000,
          cpu_quota: 50000,
          cpu_shares: 512,
          memory_limit_in_bytes: 64 * 1024 * 1024,
          memory_swap_limit_in_bytes: 64 * 1024 * 1024,
          cpuset_cpus: '0',
          cpuset_mems: '0',
          oom_score_adj: 500,
          hugepage_limits: [{ page_size: '2MB', limit: 0 }],
        },
      },
    });
    const cg = (file: string) => cri.sh(id, `cat /sys/fs/cgroup/${file}`).then((s) => s.trim());
    expect(await cg('memory/memory.limit_in_bytes')).toBe(String(64 * 1024 * 1024));
    expect(await cg('memory/memory.memsw.limit_in_bytes')).toBe(String(64 * 1024 * 1024));
    expect(await cg('cpu/cpu.cfs_period_us')).toBe('100000');
    expect(await cg('cpu/cpu.cfs_quota_us')).toBe('50000');
    expect(await cg('cpu/cpu.shares')).toBe('512');
    expect(await cg('cpuset/cpuset.cpus')).toBe('0');
    const pid = (await docker.getContainer(id).inspect()).State.Pid;
    expect(fs.readFileSync(`/proc/${pid}/oom_score_adj`, 'utf8')).toBe('500\n');

    let st = (await cri.status(id)).status;
    expect(st.resources?.linux).toMatchObject({
      cpu_quota: '50000',
      memory_limit_in_bytes: String(64 * 1024 * 1024),
      oom_score_adj: '500',
      hugepage_limits: [{ page_size: '2MB', limit: '0' }],
    });

    await shim.client.rt('UpdateContainerResources', {
      container_id: id,
      linux: {
        cpu_period: 100000,
        cpu_quota: 20000,
        cpu_shares: 256,
        memory_limit_in_bytes: 128 * 1024 * 1024,
        memory_swap_limit_in_bytes: 128 * 1024 * 1024,
      },
    });
    expect(await cg('memory/memory.limit_in_bytes')).toBe(String(128 * 1024 * 1024));
    expect(await cg('cpu/cpu.cfs_quota_us')).toBe('20000');
    expect(await cg('cpu/cpu.shares')).toBe('256');
    st = (await cri.status(id)).status;
    expect(st.resources?.linux).toMatchObject({
      cpu_quota: '20000',
      memory_limit_in_bytes: String(128 * 1024 * 1024),
    });

    // Memory alone: the swap allowance (none here) moves along.
    await shim.client.rt('UpdateContainerResources', {
      container_id: id,
      linux: { memory_limit_in_bytes: 256 * 1024 * 1024 },
    });
    expect(await cg('memory/memory.limit_in_bytes')).toBe(String(256 * 1024 * 1024));
    expect(await cg('memory/memory.memsw.limit_in_bytes')).toBe(String(256 * 1024 * 1024));

    const missing = await grpcError(
      shim.client.rt('UpdateContainerResources', { container_id: '0'.repeat(64), linux: { cpu_shares: 2 } }),
    );
    expect(missing.code).toBe(status.NOT_FOUND);
  });

  it('clamps a negative oom_score_adj where the host refuses it, so the container still starts', async () => {
    const id = await cri.run(pod, 'sleep 100000', { linux: { resources: { oom_score_adj: -500 } } });
    const pid = (await docker.getContainer(id).inspect()).State.Pid;
    const adj = Number(fs.readFileSync(`/proc/${pid}/oom_score_adj`, 'utf8'));
    expect([0, -500]).toContain(adj);
    expect((await cri.status(id)).status.state).toBe('CONTAINER_RUNNING');
  });

  it('reports a container killed for memory as OOMKilled', async () => {
    const id = await cri.run(pod, 'tail /dev/zero', {
      linux: {
        resources: { memory_limit_in_bytes: 20 * 1024 * 1024, memory_swap_limit_in_bytes: 20 * 1024 * 1024 },
      },
    });
    const st = await cri.waitExited(id);
    expect(st.reason).toBe('OOMKilled');
    expect(st.exit_code).toBe(137);
  });

  it('leaves the termination message file to the kubelet: message empty, the file in mounts', async () => {
    // The kubelet reads the file through the mount and appends it to the runtime's message after
    // ": " (kuberuntime's getTerminationMessage); a runtime that copied it in showed it twice
    // (`kubectl get pod` said "it went wrong: it went wrong", found by npm run e2e).
    const dir = tmpDir();
    const file = path.join(dir, 'a');
    fs.writeFileSync(file, '');
    const a = await cri.run(pod, 'echo -n "it went wrong" > /dev/termination-log; exit 2', {
      mounts: [{ host_path: file, container_path: '/dev/termination-log' }],
      annotations: { 'io.kubernetes.container.terminationMessagePath': '/dev/termination-log' },
    });
    const sa = await cri.waitExited(a);
    expect([sa.reason, sa.message, sa.exit_code]).toEqual(['Error', '', 2]);
    expect(sa.mounts).toContainEqual(
      expect.objectContaining({ container_path: '/dev/termination-log', host_path: file }),
    );
    expect(fs.readFileSync(file, 'utf8')).toBe('it went wrong');
  });

  it('gives the process a terminal when tty is set', async () => {
    const dir = tmpDir();
    const run = async (tty: boolean) => {
      const file = path.join(dir, `tty-${tty}`);
      fs.writeFileSync(file, '');
      const id = await cri.run(
        pod,
        'if [ -t 0 ]; then echo -n tty; else echo -n notty; fi > /dev/termination-log',
        {
          tty,
          mounts: [{ host_path: file, container_path: '/dev/termination-log' }],
          annotations: { 'io.kubernetes.container.terminationMessagePath': '/dev/termination-log' },
        },
      );
      await cri.waitExited(id);
      return fs.readFileSync(file, 'utf8');
    };
    expect(await run(true)).toBe('tty');
    expect(await run(false)).toBe('notty');
  });

  it('joins the pod, the node or its own PID namespace as asked', async () => {
    const pidMode = (pid: string) => sc({ namespace_options: { network: 'POD', ipc: 'POD', pid } });
    const inPod = await cri.run(pod, 'sleep 100000', pidMode('POD'));
    expect(await cri.sh(inPod, 'cat /proc/1/cmdline')).toMatch(/pause/);
    const own = await cri.run(pod, 'sleep 100000', pidMode('CONTAINER'));
    expect(await cri.sh(own, 'cat /proc/1/cmdline')).toMatch(/sleep/);
    const node = await cri.run(pod, 'sleep 100000', pidMode('NODE'));
    expect(await cri.sh(node, 'cat /proc/1/cmdline')).not.toMatch(/pause|sleep/);
    const target = await cri.run(pod, 'sleep 100000', {
      ...sc({
        namespace_options: { network: 'POD', ipc: 'POD', pid: 'TARGET', target_id: own.slice(0, 12) },
      }),
    });
    expect(await cri.sh(target, 'cat /proc/1/cmdline')).toMatch(/sleep/);
    expect((await docker.getContainer(target).inspect()).HostConfig.PidMode).toBe(`container:${own}`);
    // Network is always the pod's: same interfaces as the pause container.
    const ip = await cri.sh(inPod, 'hostname -i');
    expect(await cri.sh(own, 'hostname -i')).toBe(ip);
  });
});
