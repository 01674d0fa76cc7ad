import fs from 'fs';
import path from 'path';
import { status } from '@grpc/grpc-js';
import { defaultConfig, type Config } from '../../src/config';
import type { PodSandboxConfig__Output } from '../../src/generated/runtime/v1/PodSandboxConfig';
import { CriError } from '../../src/grpc/status-error';
import { CniNetwork } from '../../src/network/cni-network';
import { setLogLevel } from '../../src/logger';
import { PodCidrStore } from '../../src/network/cni/pod-cidr';
import { makeTestCniNet, makeTestNetns, type TestCniNet, type TestNetns } from '../support/cni-net';

/**
 * The CNI layer against Debian's real plugins, without Docker: a namespace of our own with a
 * process in it stands in for the pause container.
 */
function pod(name: string, over: Partial<PodSandboxConfig__Output> = {}): PodSandboxConfig__Output {
  return {
    metadata: { name, namespace: 'dcri-test', uid: `uid-${name}`, attempt: 0 },
    hostname: name,
    log_directory: '/tmp',
    dns_config: null,
    port_mappings: [],
    labels: {},
    annotations: {},
    linux: null,
    windows: null,
    ...over,
  };
}

const hexId = (n: number): string =>
  (Date.now().toString(16) + n.toString(16).padStart(4, '0')).padEnd(64, 'a');

async function failure(p: Promise<unknown>): Promise<CriError> {
  try {
    await p;
  } catch (err) {
    return err as CriError;
  }
  throw new Error('expected a failure');
}

describe('CNI plugins (bridge, host-local, firewall, portmap, loopback)', () => {
  let net: TestCniNet;
  let root: string;
  let config: Config;
  const namespaces: TestNetns[] = [];
  let seq = 0;

  beforeAll(() => {
    setLogLevel(process.env.DCRI_TEST_LOG_LEVEL ?? 'error');
    net = makeTestCniNet();
    root = path.join(net.dir, 'root');
    config = {
      ...defaultConfig({}),
      networkPlugin: 'cni',
      cniConfDir: net.confDir,
      cniBinDir: path.join(net.dir, 'no-such-bin'),
      cniCacheDir: path.join(net.dir, 'cache'),
      rootDirectory: root,
    };
  });

  afterEach(() => {
    for (const f of fs.readdirSync(net.confDir)) fs.rmSync(path.join(net.confDir, f));
  });

  afterAll(() => {
    for (const ns of namespaces) ns.cleanup();
    net.cleanup();
  });

  async function netns(): Promise<TestNetns> {
    const ns = await makeTestNetns();
    namespaces.push(ns);
    return ns;
  }

  it('is not ready without a configuration, and says where it looked', async () => {
    const r = await new CniNetwork(config).readiness();
    expect(r.ready).toBe(false);
    expect(r.reason).toBe('NetworkPluginNotReady');
    expect(r.message).toContain(net.confDir);
  });

  it('is not ready with a broken configuration, naming the file and the problem', async () => {
    const file = net.writeConf('10-broken.conflist', '{"cniVersion": "1.0.0", "name": ');
    const missing = net.writeConf(
      '20-missing.conflist',
      JSON.stringify(
        net.conflist((d) => {
          (d.plugins as Array<Record<string, unknown>>).push({ type: 'dcri-no-such-plugin' });
        }),
      ),
    );
    const r = await new CniNetwork(config).readiness();
    expect(r.ready).toBe(false);
    expect(r.message).toContain(`${file}: not valid JSON`);
    expect(r.message).toContain(`${missing}: plugin "dcri-no-such-plugin" not found`);
    const ns = await netns();
    const err = await failure(new CniNetwork(config).setUp(hexId(seq++), ns.pid, pod('a')));
    expect(err.code).toBe(status.FAILED_PRECONDITION);
    expect(err.message).toContain('dcri-no-such-plugin');
  });

  it('ADD gives the namespace an address from the range; the store and a restarted shim know it; DEL frees it', async () => {
    net.writeConf('10-net.conflist', JSON.stringify(net.conflist()));
    const cni = new CniNetwork(config);
    expect((await cni.readiness()).ready).toBe(true);
    const ns = await netns();
    const id = hexId(seq++);
    const ips = await cni.setUp(id, ns.pid, pod('b'));
    expect(ips).toHaveLength(1);
    expect(ips[0].startsWith(`${net.prefix}.`)).toBe(true);
    expect(ns.exec(['ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0'])).toContain(`${ips[0]}/24`);
    expect(net.reserved()).toContain(ips[0]);
    // host-local records the owner: our sandbox id
    expect(fs.readFileSync(path.join(net.dataDir, net.name, ips[0]), 'utf8')).toContain(id);
    expect(fs.existsSync(path.join(root, 'cni', `${id}.json`))).toBe(true);

    const restarted = new CniNetwork(config, new PodCidrStore(root));
    expect(await restarted.podIps(id)).toEqual(ips);

    await restarted.tearDown(id, ns.pid);
    expect(net.reserved()).not.toContain(ips[0]);
    expect(await restarted.podIps(id)).toEqual([]);
    expect(fs.existsSync(path.join(root, 'cni', `${id}.json`))).toBe(false);
    // idempotent
    await restarted.tearDown(id, ns.pid);
  });

  it("writes libcni's cache, and a sandbox known only from that cache (cri-dockerd) still gets DEL", async () => {
    net.writeConf('10-net.conflist', JSON.stringify(net.conflist()));
    const cni = new CniNetwork(config);
    const ns = await netns();
    const id = hexId(seq++);
    const [ip] = await cni.setUp(id, ns.pid, pod('cache'));
    const cacheFile = path.join(config.cniCacheDir, 'results', `${net.name}-${id}-eth0`);
    const cached = JSON.parse(fs.readFileSync(cacheFile, 'utf8')) as Record<string, unknown>;
    expect(cached).toMatchObject({
      kind: 'cniCacheV1',
      containerId: id,
      networkName: net.name,
      ifName: 'eth0',
    });

    // As after a switch from cri-dockerd: no record of ours, only libcni's entry.
    fs.rmSync(path.join(root, 'cni', `${id}.json`));
    const migrated = new CniNetwork(config);
    expect(await migrated.podIps(id)).toEqual([ip]);
    await migrated.tearDown(id, ns.pid);
    expect(net.reserved()).not.toContain(ip);
    expect(fs.existsSync(cacheFile)).toBe(false);
  });

  it('DEL after the namespace is gone still releases the address', async () => {
    net.writeConf('10-net.conflist', JSON.stringify(net.conflist()));
    const cni = new CniNetwork(config);
    const ns = await netns();
    const id = hexId(seq++);
    const [ip] = await cni.setUp(id, ns.pid, pod('c'));
    expect(net.reserved()).toContain(ip);
    const pid = ns.pid;
    ns.cleanup();
    await cni.tearDown(id, pid);
    expect(net.reserved()).not.toContain(ip);
  });

  it('DEL uses the configuration ADD used, even after the conf dir changed', async () => {
    const file = net.writeConf('10-net.conflist', JSON.stringify(net.conflist()));
    const cni = new CniNetwork(config);
    const ns = await netns();
    const id = hexId(seq++);
    const [ip] = await cni.setUp(id, ns.pid, pod('d'));
    fs.rmSync(file);
    await cni.tearDown(id, ns.pid);
    expect(net.reserved()).not.toContain(ip);
  });

  it('a failing plugin gives its own message, and nothing stays allocated', async () => {
    net.writeConf(
      '10-net.conflist',
      JSON.stringify(
        net.conflist((d) => {
          const ipam = (d.plugins as Array<{ ipam?: Record<string, unknown> }>)[0].ipam!;
          ipam.ranges = [[{ subnet: net.subnet, rangeStart: '192.0.2.10' }]];
        }),
      ),
    );
    const cni = new CniNetwork(config);
    const ns = await netns();
    const id = hexId(seq++);
    const err = await failure(cni.setUp(id, ns.pid, pod('e')));
    expect(err.code).toBe(status.INTERNAL);
    expect(err.message).toContain(`sandbox ${id}`);
    expect(err.message).toContain(`pod network "${net.name}"`);
    expect(err.message).toContain('CNI plugin "bridge" failed to add');
    expect(err.message).toMatch(/192\.0\.2\.10/);
    expect(net.reserved()).toEqual([]);
    expect(fs.existsSync(path.join(root, 'cni', `${id}.json`))).toBe(false);
  });

  it('hands the pod CIDR to plugins that declare ipRanges', async () => {
    net.writeConf(
      '10-net.conflist',
      JSON.stringify(
        net.conflist((d) => {
          const bridge = (d.plugins as Array<Record<string, unknown>>)[0];
          bridge.capabilities = { ipRanges: true };
          // host-local's ranges come from the pod CIDR alone.
          delete (bridge.ipam as Record<string, unknown>).ranges;
        }),
      ),
    );
    const cidrs = new PodCidrStore(root);
    await cidrs.set([net.subnet]);
    const cni = new CniNetwork(config, new PodCidrStore(root));
    const ns = await netns();
    const id = hexId(seq++);
    const [ip] = await cni.setUp(id, ns.pid, pod('f'));
    expect(ip.startsWith(`${net.prefix}.`)).toBe(true);
    await cni.tearDown(id, ns.pid);
    await cidrs.set([]);
  });

  it('skips host-network pods', async () => {
    net.writeConf('10-net.conflist', JSON.stringify(net.conflist()));
    const host = pod('g', {
      linux: {
        security_context: { namespace_options: { network: 'NODE' } },
      } as unknown as PodSandboxConfig__Output['linux'],
    });
    const id = hexId(seq++);
    expect(await new CniNetwork(config).setUp(id, process.pid, host)).toEqual([]);
    expect(fs.existsSync(path.join(root, 'cni', `${id}.json`))).toBe(false);
  });
});
