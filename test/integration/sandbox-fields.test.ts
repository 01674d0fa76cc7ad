import fs from 'fs';
import http from 'http';
import net from 'net';
import os from 'os';
import path from 'path';
import { startShim, type TestShim } from '../support/shim';
import { podConfig, removeTestPods, testDocker, OWNER_LABEL, TEST_OWNER } from '../support/pod-config';

// jest 30 ignores the project-level testTimeout in jest.config.js; Docker work needs more than 5 s.
jest.setTimeout(300_000);

/**
 * Every PodSandboxConfig field, checked where it takes effect: in the pause process (/proc/<pid>)
 * and in a container that joins the pod's namespaces the way a pod's containers do.
 */
describe('pod sandbox config fields, seen inside the pod', () => {
  let shim: TestShim;
  const docker = testDocker();
  const cgroupParent = `/dcri-test-${TEST_OWNER}`;

  beforeAll(async () => {
    shim = await startShim();
  });
  afterAll(async () => {
    await removeTestPods(shim.client);
    await shim.stop();
    // Docker leaves the parent cgroup directories it made; they are this test's.
    for (const ctl of fs.existsSync('/sys/fs/cgroup') ? fs.readdirSync('/sys/fs/cgroup') : []) {
      try {
        fs.rmdirSync(path.join('/sys/fs/cgroup', ctl, cgroupParent));
      } catch {
        // not there for this controller
      }
    }
  });

  const run = async (config: object): Promise<string> =>
    (await shim.client.rt<{ pod_sandbox_id: string }>('RunPodSandbox', { config })).pod_sandbox_id;
  const pidOf = async (id: string): Promise<number> => (await docker.getContainer(id).inspect()).State.Pid;
  const procStatus = (pid: number): Record<string, string> =>
    Object.fromEntries(
      fs
        .readFileSync(`/proc/${pid}/status`, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]),
    );
  const nsOf = (pid: number | 'self', kind: string): string => fs.readlinkSync(`/proc/${pid}/ns/${kind}`);

  /** A busybox container in the pod's namespaces, as the containers engineer's code will make them. */
  // A workload container as Docker holds one (the type label is what makes it one of the pod's
  // containers for StopPodSandbox and RemovePodSandbox, as under dockershim).
  async function joined(sandboxId: string, cmd: string[], pidMode = ''): Promise<string> {
    const c = await docker.createContainer({
      Image: 'busybox:latest',
      Cmd: cmd,
      Labels: {
        [OWNER_LABEL]: TEST_OWNER,
        'io.kubernetes.sandbox.id': sandboxId,
        'io.kubernetes.docker.type': 'container',
      },
      HostConfig: {
        NetworkMode: `container:${sandboxId}`,
        IpcMode: `container:${sandboxId}`,
        PidMode: pidMode,
      },
    });
    await c.start();
    return c.id;
  }
  async function execIn(id: string, cmd: string[]): Promise<string> {
    const c = await docker.createContainer({
      Image: 'busybox:latest',
      Cmd: cmd,
      Labels: { [OWNER_LABEL]: TEST_OWNER, 'io.kubernetes.sandbox.id': id },
      HostConfig: { NetworkMode: `container:${id}`, IpcMode: `container:${id}`, PidMode: `container:${id}` },
    });
    await c.start();
    await c.wait();
    const logs = (await c.logs({ stdout: true, stderr: true })) as Buffer;
    await c.remove({ force: true });
    // Docker's multiplexed log frames: 8-byte header then payload.
    let out = '';
    for (let i = 0; i + 8 <= logs.length;) {
      const len = logs.readUInt32BE(i + 4);
      out += logs.subarray(i + 8, i + 8 + len).toString('utf8');
      i += 8 + len;
    }
    return out;
  }
  function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
      const s = net.createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => {
        const port = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(port));
      });
    });
  }
  function httpGet(port: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/', timeout: 2000 }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve(body));
      });
      req.on('error', reject);
      req.on('timeout', () => req.destroy(new Error('timeout')));
    });
  }

  it('hostname, resolv.conf, sysctls, cgroup parent, OOM score and shared namespaces', async () => {
    const dns = {
      servers: ['10.96.0.10', 'fd00::a'],
      searches: ['dcri-test.svc.cluster.local', 'svc.cluster.local'],
      options: ['ndots:5', 'timeout:1'],
    };
    const cfg = podConfig('fields', {
      hostname: 'pod-host-name',
      dns_config: dns,
      linux: {
        cgroup_parent: cgroupParent,
        sysctls: { 'net.ipv4.ip_unprivileged_port_start': '1024', 'kernel.shm_rmid_forced': '1' },
        security_context: { namespace_options: { network: 'POD', pid: 'POD', ipc: 'POD' } },
      },
    });
    const id = await run(cfg);
    const pid = await pidOf(id);

    // In the pause process itself.
    expect(fs.readFileSync(`/proc/${pid}/root/etc/hostname`, 'utf8').trim()).toBe('pod-host-name');
    expect(fs.readFileSync(`/proc/${pid}/root/etc/resolv.conf`, 'utf8')).toBe(
      'search dcri-test.svc.cluster.local svc.cluster.local\n' +
        'nameserver 10.96.0.10\nnameserver fd00::a\noptions ndots:5 timeout:1\n',
    );
    expect(fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8')).toContain(`${cgroupParent}/${id}`);
    // This host refuses negative values (see CRI-NOTES): -998 is clamped to 0.
    expect(fs.readFileSync(`/proc/${pid}/oom_score_adj`, 'utf8').trim()).toBe('0');
    expect(nsOf(pid, 'net')).not.toBe(nsOf('self', 'net'));
    expect(nsOf(pid, 'pid')).not.toBe(nsOf('self', 'pid'));
    expect(nsOf(pid, 'ipc')).not.toBe(nsOf('self', 'ipc'));

    // In a container of the pod: same network, IPC and PID namespaces, same files, sysctls applied.
    const out = await execIn(id, [
      'sh',
      '-c',
      'hostname; cat /etc/resolv.conf; echo ---; cat /proc/sys/net/ipv4/ip_unprivileged_port_start ' +
        '/proc/sys/kernel/shm_rmid_forced; for n in /proc/self/ns/net /proc/self/ns/ipc /proc/1/ns/pid; ' +
        'do readlink $n; done; ' +
        'cat /proc/1/cmdline',
    ]);
    const [head, tail] = out.split('---\n');
    expect(head).toBe(`pod-host-name\n${fs.readFileSync(`/proc/${pid}/root/etc/resolv.conf`, 'utf8')}`);
    const lines = tail.trim().split('\n');
    expect(lines.slice(0, 2)).toEqual(['1024', '1']);
    expect(lines.slice(2, 5)).toEqual([nsOf(pid, 'net'), nsOf(pid, 'ipc'), nsOf(pid, 'pid')]);
    expect(lines[5].replace(/\0/g, '')).toBe('/pause');

    await shim.client.rt('RemovePodSandbox', { pod_sandbox_id: id });
  });

  it('publishes port mappings: an HTTP server in the pod answers on the host port (loopback)', async () => {
    const [tcpPort, udpPort] = [await freePort(), await freePort()];
    const cfg = podConfig('ports', {
      port_mappings: [
        { protocol: 'TCP', container_port: 8080, host_port: tcpPort, host_ip: '127.0.0.1' },
        { protocol: 'UDP', container_port: 5353, host_port: udpPort, host_ip: '127.0.0.1' },
        // No host port: this kernel has no SCTP for docker-proxy to publish with (exposed only).
        { protocol: 'SCTP', container_port: 9999 },
        { protocol: 'TCP', container_port: 7070 },
      ],
    });
    const id = await run(cfg);
    await joined(id, [
      'sh',
      '-c',
      'mkdir -p /www && echo hello-from-the-pod > /www/index.html && exec httpd -f -p 8080 -h /www',
    ]);
    // The server takes a moment to listen; poll until it answers (the test timeout bounds this).
    let body: string | undefined;
    while (body === undefined) {
      body = await httpGet(tcpPort).catch(async () => {
        await new Promise((r) => setTimeout(r, 100));
        return undefined;
      });
    }
    expect(body).toBe('hello-from-the-pod\n');

    const inspect = await docker.getContainer(id).inspect();
    expect(inspect.HostConfig.PortBindings).toEqual({
      '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: String(tcpPort) }],
      '5353/udp': [{ HostIp: '127.0.0.1', HostPort: String(udpPort) }],
    });
    expect(Object.keys(inspect.Config.ExposedPorts ?? {}).sort()).toEqual([
      '5353/udp',
      '7070/tcp',
      '8080/tcp',
      '9999/sctp',
    ]);
    expect(inspect.NetworkSettings.Ports['5353/udp']).toEqual([
      { HostIp: '127.0.0.1', HostPort: String(udpPort) },
    ]);

    // Stop kills the pod's containers at once and then the pause container.
    await shim.client.rt('StopPodSandbox', { pod_sandbox_id: id });
    const members = await docker.listContainers({
      all: true,
      filters: { label: [`io.kubernetes.sandbox.id=${id}`] },
    });
    expect(members.length).toBe(1);
    expect(members.every((m) => m.State === 'exited')).toBe(true);
    // Remove takes them along.
    await shim.client.rt('RemovePodSandbox', { pod_sandbox_id: id });
    expect(
      await docker.listContainers({ all: true, filters: { label: [`io.kubernetes.sandbox.id=${id}`] } }),
    ).toEqual([]);
  });

  it('node namespaces: host network, PID and IPC; no pod IP', async () => {
    const cfg = podConfig('hostns', {
      hostname: os.hostname(),
      linux: { security_context: { namespace_options: { network: 'NODE', pid: 'NODE', ipc: 'NODE' } } },
    });
    const id = await run(cfg);
    const pid = await pidOf(id);
    for (const kind of ['net', 'pid', 'ipc']) expect(nsOf(pid, kind)).toBe(nsOf('self', kind));
    const st = await shim.client.rt<{
      status: { network: { ip: string }; linux: { namespaces: { options: Record<string, string> } } };
    }>('PodSandboxStatus', { pod_sandbox_id: id });
    expect(st.status.network.ip).toBe('');
    expect(st.status.linux.namespaces.options).toMatchObject({ network: 'NODE', pid: 'NODE', ipc: 'NODE' });
    const inspect = await docker.getContainer(id).inspect();
    expect(inspect.HostConfig).toMatchObject({ NetworkMode: 'host', PidMode: 'host', IpcMode: 'host' });
    await shim.client.rt('RemovePodSandbox', { pod_sandbox_id: id });
  });

  it('security context: user, group, supplemental groups, read-only rootfs, seccomp, SELinux, privileged', async () => {
    const profile = path.join(os.tmpdir(), `dcri-seccomp-${TEST_OWNER}.json`);
    fs.writeFileSync(profile, JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW' }));
    try {
      const restricted = await run(
        podConfig('sec', {
          linux: {
            security_context: {
              run_as_user: { value: 65534 },
              run_as_group: { value: 65534 },
              supplemental_groups: [2000, 3000],
              readonly_rootfs: true,
              seccomp: { profile_type: 'Localhost', localhost_ref: profile },
              selinux_options: { user: 'system_u', role: 'system_r', type: 'spc_t', level: 's0' },
            },
          },
        }),
      );
      const pid = await pidOf(restricted);
      const st = procStatus(pid);
      expect(st.Uid.split(/\s+/)[0]).toBe('65534');
      expect(st.Gid.split(/\s+/)[0]).toBe('65534');
      expect(st.Groups.split(/\s+/)).toEqual(expect.arrayContaining(['2000', '3000']));
      expect(st.Seccomp).toBe('2');
      const rootMount = fs
        .readFileSync(`/proc/${pid}/mountinfo`, 'utf8')
        .split('\n')
        .find((l) => l.split(' ')[4] === '/');
      expect(rootMount?.split(' ')[5].split(',')).toContain('ro');
      const hc = (await docker.getContainer(restricted).inspect()).HostConfig;
      expect(hc.SecurityOpt).toEqual(
        expect.arrayContaining([
          'label=user:system_u',
          'label=role:system_r',
          'label=type:spc_t',
          'label=level:s0',
        ]),
      );

      const unconfined = await run(
        podConfig('unconf', { linux: { security_context: { seccomp: { profile_type: 'Unconfined' } } } }),
      );
      expect(procStatus(await pidOf(unconfined)).Seccomp).toBe('0');

      // A privileged pod needs every capability; this nested host lacks CAP_SYS_RESOURCE, so runc
      // refuses it here (see CRI-NOTES). Either way: Privileged reaches Docker, and a refusal is clean.
      const privCfg = podConfig('priv', { linux: { security_context: { privileged: true } } });
      const priv = await run(privCfg).then(
        (id) => ({ id, error: undefined }),
        (e: { details: string }) => ({ id: undefined, error: e.details }),
      );
      if (priv.id) {
        expect((await docker.getContainer(priv.id).inspect()).HostConfig.Privileged).toBe(true);
        expect(procStatus(await pidOf(priv.id)).CapEff).toBe(procStatus(process.pid).CapEff);
      } else {
        expect(priv.error).toMatch(/caps|operation not permitted/);
        const left = await docker.listContainers({
          all: true,
          filters: { label: [`io.kubernetes.pod.uid=${privCfg.metadata.uid}`] },
        });
        expect(left).toEqual([]);
      }

      const dflt = await run(podConfig('dflt'));
      expect(procStatus(await pidOf(dflt)).Seccomp).toBe('2');
      expect(procStatus(await pidOf(dflt)).CapEff).not.toBe(procStatus(process.pid).CapEff);
    } finally {
      fs.rmSync(profile, { force: true });
    }
  });
  it('a failure after create (host port taken) leaves no half-made pod behind', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve()));
    const taken = (blocker.address() as net.AddressInfo).port;
    try {
      const cfg = podConfig('taken', {
        port_mappings: [{ protocol: 'TCP', container_port: 80, host_port: taken, host_ip: '127.0.0.1' }],
      });
      const err = await shim.client.rt('RunPodSandbox', { config: cfg }).then(
        () => undefined,
        (e: { details: string }) => e,
      );
      expect(err?.details).toMatch(new RegExp(`${taken}|address already in use|port is already allocated`));
      const left = await docker.listContainers({
        all: true,
        filters: { label: [`io.kubernetes.pod.uid=${cfg.metadata.uid}`] },
      });
      expect(left).toEqual([]);
      const listed = await shim.client.rt<{ items: unknown[] }>('ListPodSandbox', {
        filter: { label_selector: { 'io.kubernetes.pod.uid': cfg.metadata.uid } },
      });
      expect(listed.items).toEqual([]);
    } finally {
      blocker.close();
    }
  });
});
