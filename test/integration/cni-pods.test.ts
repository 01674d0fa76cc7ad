import fs from 'fs';
import http from 'http';
import path from 'path';
import { status } from '@grpc/grpc-js';
import { startShim, type TestShim } from '../support/shim';
import { grpcError } from '../support/cri-client';
import { OWNER_LABEL, TEST_OWNER, podConfig, removeTestPods, testDocker } from '../support/pod-config';
import { freeHostPort, makeTestCniNet, type TestCniNet } from '../support/cni-net';

interface SandboxStatus {
  state: string;
  network: { ip: string; additional_ips: Array<{ ip: string }> };
}
interface Condition {
  type: string;
  status: boolean;
  reason: string;
  message: string;
}

/**
 * Pods through the CRI with `--network-plugin cni`, Debian's bridge/host-local/firewall/portmap/
 * loopback plugins and a network of the test's own. Workload containers are busybox containers
 * made with Docker directly, joining the pause container's namespace as CRI containers do.
 */
describe('pods on a CNI network', () => {
  const docker = testDocker();
  let net: TestCniNet;
  let shim: TestShim;
  const shims: TestShim[] = [];
  const helpers: string[] = [];

  async function cniShim(confDir: string, rootDirectory: string): Promise<TestShim> {
    const s = await startShim({
      networkPlugin: 'cni',
      cniConfDir: confDir,
      // Plugins come from Debian's /usr/lib/cni, which docker-cri always searches too.
      cniBinDir: path.join(net.dir, 'bin'),
      cniCacheDir: path.join(net.dir, 'cache'),
      rootDirectory,
    });
    shims.push(s);
    return s;
  }

  beforeAll(async () => {
    net = makeTestCniNet();
    net.writeConf('10-test.conflist', JSON.stringify(net.conflist()));
    shim = await cniShim(net.confDir, path.join(net.dir, 'root'));
  });

  afterAll(async () => {
    await Promise.all(
      helpers.map((id) =>
        docker
          .getContainer(id)
          .remove({ force: true })
          .catch(() => undefined),
      ),
    );
    for (const s of shims) {
      await removeTestPods(s.client).catch(() => undefined);
      await s.stop().catch(() => undefined);
    }
    net.cleanup();
  });

  const runPod = async (s: TestShim, config: object) =>
    (await s.client.rt<{ pod_sandbox_id: string }>('RunPodSandbox', { config })).pod_sandbox_id;
  const statusOf = async (s: TestShim, id: string) =>
    (await s.client.rt<{ status: SandboxStatus }>('PodSandboxStatus', { pod_sandbox_id: id })).status;
  const networkReady = async (s: TestShim) => {
    const res = await s.client.rt<{ status: { conditions: Condition[] } }>('Status', {});
    return res.status.conditions.find((c) => c.type === 'NetworkReady')!;
  };

  /** A busybox container in the pod's network namespace (what CreateContainer does for a pod). */
  async function inPod(podId: string, cmd: string[]): Promise<string> {
    const c = await docker.createContainer({
      Image: 'busybox:latest',
      Cmd: cmd,
      Labels: { 'dcri-test': 'yes', [OWNER_LABEL]: TEST_OWNER, 'io.kubernetes.sandbox.id': podId },
      HostConfig: { NetworkMode: `container:${podId}` },
    });
    helpers.push(c.id);
    await c.start();
    return c.id;
  }

  async function exitCodeAndOutput(id: string): Promise<{ code: number; out: string }> {
    const c = docker.getContainer(id);
    const { StatusCode } = (await c.wait()) as { StatusCode: number };
    const logs = (await c.logs({ stdout: true, stderr: true })) as unknown as Buffer;
    return { code: StatusCode, out: logs.toString('utf8') };
  }

  function httpGet(port: number, file: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port, path: file, timeout: 5000 }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve(body));
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', reject);
    });
  }

  it('reports NetworkReady with a valid configuration', async () => {
    const ready = await networkReady(shim);
    expect(ready).toMatchObject({ status: true });
  });

  it('gives two pods addresses from the range; they reach each other by IP', async () => {
    const a = await runPod(shim, podConfig('cni-a'));
    const b = await runPod(shim, podConfig('cni-b'));
    const ipA = (await statusOf(shim, a)).network.ip;
    const ipB = (await statusOf(shim, b)).network.ip;
    expect(ipA.startsWith(`${net.prefix}.`)).toBe(true);
    expect(ipB.startsWith(`${net.prefix}.`)).toBe(true);
    expect(ipA).not.toBe(ipB);
    expect(net.reserved()).toEqual(expect.arrayContaining([ipA, ipB]));
    expect((await docker.getContainer(a).inspect()).HostConfig.NetworkMode).toBe('none');

    // ICMP and TCP, pod A → pod B
    const ping = await exitCodeAndOutput(await inPod(a, ['ping', '-c', '1', '-W', '10', ipB]));
    expect(ping).toMatchObject({ code: 0 });
    await inPod(b, ['sh', '-c', 'echo pod-b-here > /tmp/index.html && exec httpd -f -p 8080 -h /tmp']);
    const fetch = await exitCodeAndOutput(
      await inPod(a, [
        'sh',
        '-c',
        `for i in $(seq 1 50); do wget -q -O - http://${ipB}:8080/index.html && exit 0; sleep 0.2; done; exit 1`,
      ]),
    );
    expect(fetch.code).toBe(0);
    expect(fetch.out).toContain('pod-b-here');
  });

  it('forwards a host port on 127.0.0.1 to a server in a pod (portmap)', async () => {
    const hostPort = freeHostPort();
    const pod = await runPod(
      shim,
      podConfig('cni-port', {
        port_mappings: [{ protocol: 'TCP', container_port: 8080, host_port: hostPort, host_ip: '127.0.0.1' }],
      }),
    );
    await inPod(pod, ['sh', '-c', 'echo via-host-port > /tmp/index.html && exec httpd -f -p 8080 -h /tmp']);
    let body = '';
    for (let i = 0; i < 100 && !body; i++) {
      body = await httpGet(hostPort, '/index.html').catch(async () => {
        await new Promise((r) => setTimeout(r, 100));
        return '';
      });
    }
    expect(body).toContain('via-host-port');
    await shim.client.rt('StopPodSandbox', { pod_sandbox_id: pod });
    await expect(httpGet(hostPort, '/index.html')).rejects.toThrow();
  });

  it('releases the address on StopPodSandbox, also when the pause container already died', async () => {
    const live = await runPod(shim, podConfig('cni-stop'));
    const liveIp = (await statusOf(shim, live)).network.ip;
    const dead = await runPod(shim, podConfig('cni-dead'));
    const deadIp = (await statusOf(shim, dead)).network.ip;
    expect(net.reserved()).toEqual(expect.arrayContaining([liveIp, deadIp]));

    await shim.client.rt('StopPodSandbox', { pod_sandbox_id: live });
    expect(net.reserved()).not.toContain(liveIp);
    expect((await statusOf(shim, live)).network.ip).toBe('');

    await docker.getContainer(dead).kill();
    await docker.getContainer(dead).wait();
    expect(net.reserved()).toContain(deadIp);
    await shim.client.rt('StopPodSandbox', { pod_sandbox_id: dead });
    expect(net.reserved()).not.toContain(deadIp);
    // idempotent
    await shim.client.rt('StopPodSandbox', { pod_sandbox_id: dead });
    await shim.client.rt('RemovePodSandbox', { pod_sandbox_id: dead });
  });

  it('a restarted shim still reports pod IPs and releases them', async () => {
    const root = path.join(net.dir, 'root-restart');
    const first = await cniShim(net.confDir, root);
    const pod = await runPod(first, podConfig('cni-restart'));
    const ip = (await statusOf(first, pod)).network.ip;
    expect(ip.startsWith(`${net.prefix}.`)).toBe(true);
    await first.app.stop(5000);

    const second = await cniShim(net.confDir, root);
    expect((await statusOf(second, pod)).network.ip).toBe(ip);
    await second.client.rt('RemovePodSandbox', { pod_sandbox_id: pod });
    expect(net.reserved()).not.toContain(ip);
  });

  it('skips CNI for host-network pods', async () => {
    const pod = await runPod(
      shim,
      podConfig('cni-host', { linux: { security_context: { namespace_options: { network: 'NODE' } } } }),
    );
    expect((await docker.getContainer(pod).inspect()).HostConfig.NetworkMode).toBe('host');
    expect(fs.existsSync(path.join(net.dir, 'root', 'cni', `${pod}.json`))).toBe(false);
    await shim.client.rt('RemovePodSandbox', { pod_sandbox_id: pod });
  });

  it('a broken configuration: NetworkReady false with a reason, RunPodSandbox fails naming the file', async () => {
    const brokenDir = path.join(net.dir, 'broken.d');
    fs.mkdirSync(brokenDir);
    const file = path.join(brokenDir, '10-broken.conflist');
    fs.writeFileSync(
      file,
      JSON.stringify({ cniVersion: '1.0.0', name: 'broken', plugins: [{ type: 'dcri-nope' }] }),
    );
    const s = await cniShim(brokenDir, path.join(net.dir, 'root-broken'));
    const ready = await networkReady(s);
    expect(ready.status).toBe(false);
    expect(ready.reason).toBe('NetworkPluginNotReady');
    expect(ready.message).toContain(file);
    expect(ready.message).toContain('plugin "dcri-nope" not found');

    const err = await grpcError(runPod(s, podConfig('cni-broken')));
    expect(err.code).toBe(status.FAILED_PRECONDITION);
    expect(err.details).toContain(file);
    expect(err.details).toContain('dcri-nope');
    const left = await docker.listContainers({
      all: true,
      filters: { label: [`${OWNER_LABEL}=${TEST_OWNER}`] },
    });
    expect(left.filter((c) => c.Labels['io.kubernetes.pod.name']?.startsWith('cni-broken'))).toEqual([]);
  });

  it("a failing plugin's message reaches RunPodSandbox; UpdateRuntimeConfig's pod CIDR then feeds host-local", async () => {
    const dir = path.join(net.dir, 'ranges.d');
    fs.mkdirSync(dir);
    fs.writeFileSync(
      path.join(dir, '10-ranges.conflist'),
      JSON.stringify(
        net.conflist((d) => {
          const bridge = (d.plugins as Array<Record<string, unknown>>)[0];
          bridge.capabilities = { ipRanges: true };
          delete (bridge.ipam as Record<string, unknown>).ranges;
        }),
      ),
    );
    const s = await cniShim(dir, path.join(net.dir, 'root-ranges'));
    const err = await grpcError(runPod(s, podConfig('cni-norange')));
    expect(err.details).toContain('CNI plugin "bridge" failed to add');
    expect(err.details).toMatch(/range/i);
    const left = await docker.listContainers({
      all: true,
      filters: { label: [`${OWNER_LABEL}=${TEST_OWNER}`] },
    });
    expect(left.filter((c) => c.Labels['io.kubernetes.pod.name']?.startsWith('cni-norange'))).toEqual([]);

    const bad = await grpcError(
      s.client.rt('UpdateRuntimeConfig', { runtime_config: { network_config: { pod_cidr: '10.1.2.3/99' } } }),
    );
    expect(bad.code).toBe(status.INVALID_ARGUMENT);
    expect(bad.details).toContain('runtime_config.network_config.pod_cidr');

    await s.client.rt('UpdateRuntimeConfig', {
      runtime_config: { network_config: { pod_cidr: net.subnet } },
    });
    const pod = await runPod(s, podConfig('cni-cidr'));
    const ip = (await statusOf(s, pod)).network.ip;
    expect(ip.startsWith(`${net.prefix}.`)).toBe(true);
    expect(
      JSON.parse(fs.readFileSync(path.join(net.dir, 'root-ranges', 'network', 'pod-cidr.json'), 'utf8')),
    ).toEqual({
      podCidrs: [net.subnet],
    });
    await s.client.rt('RemovePodSandbox', { pod_sandbox_id: pod });
    expect(net.reserved()).not.toContain(ip);
  });
});
