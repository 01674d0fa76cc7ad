import fs from 'fs';
import path from 'path';
import {
  addBridge,
  allowForward,
  deleteLink,
  makeCgroupRoot,
  readSysctls,
  removeCgroupRoot,
  removeContainerLogLinks,
  removeForward,
  restoreSysctls,
  unmountUnder,
} from './host';
import { readIfExists } from './check';
import { Kubectl } from './kubectl';
import { makeCa, makeCert, makeServiceAccountKey, writeKubeconfig, type Pki } from './pki';
import { Daemon, GaveUp, must, run, waitFor } from './proc';

export interface ClusterOptions {
  /** kubelet, kube-apiserver, kube-controller-manager, kube-scheduler; kubectl and etcd here or on PATH. */
  k8sBin: string;
  /** Everything of the run lives here (removed at teardown). */
  dir: string;
  /** This worktree: dist/src/main.js, scripts/build-images.sh. */
  repo: string;
  /** The private engines' dockerd (its helpers beside it). */
  dockerd: string;
  nodes: number;
  log: (msg: string) => void;
}

/**
 * Addresses, all private to the run: node i's pod bridge is 10.77.i.0/24 with the node IP at .1
 * (apart from the test engines' 172.17/16, 172.31.253/24, 10.251/16 and 10.254/16); nodes after the
 * first live in a network namespace reached over a veth pair in 10.77.250+i.0/30. The apiserver
 * listens on the first node's address; etcd, the controller-manager and the scheduler on loopback.
 */
const SUBNET = '10.77';
const nodeIp = (i: number): string => `${SUBNET}.${i}.1`;
const ETCD_CLIENT = 'http://127.0.0.1:23791';
const ETCD_PEER = 'http://127.0.0.1:23801';
const APISERVER_PORT = 16443;
const SERVICE_CIDR = '10.78.0.0/24';

export interface NodeHandle {
  index: number;
  name: string;
  ip: string;
  bridge: string;
  /** Network namespace of a node after the first; undefined for the first (host namespace). */
  netns: string | undefined;
  dir: string;
  dockerHost: string;
  criSocket: string;
  engine: Daemon;
  dcri: Daemon;
  kubelet: Daemon;
  podLogsDir: string;
  cgroupRoot: string;
}

export interface SavedState {
  sysctls: Record<string, string>;
  /** Process groups of the daemons last started (a run killed hard leaves them to the next). */
  pids?: number[];
  nodes: {
    name: string;
    bridge: string;
    netns?: string;
    veth?: string;
    cgroupRoot: string;
    podLogsDir: string;
  }[];
}

export class Cluster {
  readonly kubectl: Kubectl;
  readonly nodes: NodeHandle[] = [];
  private pki: Pki | undefined;
  private readonly control: Daemon[] = [];
  /** A node's daemons started before its handle exists (torn down with it if its start fails). */
  private pending: Daemon[] = [];
  private state: SavedState = { sysctls: {}, nodes: [] };
  readonly kubeconfig: string;
  readonly server: string;

  constructor(private readonly opts: ClusterOptions) {
    this.kubeconfig = path.join(opts.dir, 'admin.kubeconfig');
    this.server = `https://${nodeIp(1)}:${APISERVER_PORT}`;
    this.kubectl = new Kubectl(this.bin('kubectl'), this.kubeconfig);
  }

  bin(name: string): string {
    const p = path.join(this.opts.k8sBin, name);
    return fs.existsSync(p) ? p : name;
  }

  private saveState(): void {
    this.state.pids = [
      ...this.control,
      ...this.pending,
      ...this.nodes.flatMap((n) => [n.engine, n.dcri, n.kubelet]),
    ]
      .map((d) => d.pid)
      .filter((p): p is number => p !== undefined);
    fs.writeFileSync(path.join(this.opts.dir, 'state.json'), JSON.stringify(this.state, null, 2));
  }

  async up(): Promise<void> {
    const { dir, log } = this.opts;
    fs.mkdirSync(dir, { recursive: true });
    // Saved before anything can change them, kept on disk so that a run killed hard is undone by the next.
    this.state.sysctls = readSysctls();
    this.saveState();

    log('certificates');
    this.pki = await makeCa(path.join(dir, 'pki'));
    const pki = this.pki;
    const sa = await makeServiceAccountKey(pki);
    const serving = await makeCert(pki, 'apiserver', '/CN=kube-apiserver', [
      nodeIp(1),
      '127.0.0.1',
      '10.78.0.1',
      'localhost',
      'kubernetes',
      'kubernetes.default',
      'kubernetes.default.svc',
    ]);
    const kubeletClient = await makeCert(
      pki,
      'apiserver-kubelet-client',
      '/O=system:masters/CN=kube-apiserver-kubelet-client',
    );
    writeKubeconfig(
      this.kubeconfig,
      this.server,
      pki.ca,
      await makeCert(pki, 'admin', '/O=system:masters/CN=e2e-admin'),
    );
    const kcmConfig = path.join(dir, 'kcm.kubeconfig');
    writeKubeconfig(
      kcmConfig,
      this.server,
      pki.ca,
      await makeCert(pki, 'kcm', '/CN=system:kube-controller-manager'),
    );
    const schedConfig = path.join(dir, 'scheduler.kubeconfig');
    writeKubeconfig(
      schedConfig,
      this.server,
      pki.ca,
      await makeCert(pki, 'scheduler', '/CN=system:kube-scheduler'),
    );

    // The first node's bridge carries the apiserver's address, so it comes first.
    await addBridge(`dcrie2e1`, `${nodeIp(1)}/24`);
    this.state.nodes.push({
      name: 'dcri-e2e-1',
      bridge: 'dcrie2e1',
      cgroupRoot: 'dcri-e2e-1',
      podLogsDir: path.join(dir, 'node1', 'pods'),
    });
    this.saveState();

    log('etcd');
    this.daemon('etcd', this.bin('etcd'), [
      '--name=e2e',
      `--data-dir=${path.join(dir, 'etcd')}`,
      `--listen-client-urls=${ETCD_CLIENT}`,
      `--advertise-client-urls=${ETCD_CLIENT}`,
      `--listen-peer-urls=${ETCD_PEER}`,
      `--initial-advertise-peer-urls=${ETCD_PEER}`,
      `--initial-cluster=e2e=${ETCD_PEER}`,
      '--unsafe-no-fsync',
    ]);

    log('kube-apiserver');
    this.daemon('kube-apiserver', this.bin('kube-apiserver'), [
      `--etcd-servers=${ETCD_CLIENT}`,
      `--bind-address=${nodeIp(1)}`,
      `--advertise-address=${nodeIp(1)}`,
      `--secure-port=${APISERVER_PORT}`,
      `--cert-dir=${path.join(dir, 'apiserver')}`,
      `--tls-cert-file=${serving.cert}`,
      `--tls-private-key-file=${serving.key}`,
      `--client-ca-file=${pki.ca}`,
      `--kubelet-client-certificate=${kubeletClient.cert}`,
      `--kubelet-client-key=${kubeletClient.key}`,
      '--kubelet-preferred-address-types=InternalIP',
      `--service-account-key-file=${sa.pub}`,
      `--service-account-signing-key-file=${sa.key}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      '--authorization-mode=Node,RBAC',
      '--enable-admission-plugins=NodeRestriction',
      '--allow-privileged=true',
      '--profiling=false',
    ]);
    await waitFor(
      'the apiserver to be ready',
      async () =>
        (await this.kubectl.run(['get', '--raw', '/readyz'])).stdout.trim() === 'ok' ? true : undefined,
      180_000,
    );

    log('kube-controller-manager, kube-scheduler');
    this.daemon('kube-controller-manager', this.bin('kube-controller-manager'), [
      `--kubeconfig=${kcmConfig}`,
      `--authentication-kubeconfig=${kcmConfig}`,
      `--authorization-kubeconfig=${kcmConfig}`,
      '--bind-address=127.0.0.1',
      '--secure-port=16257',
      `--cert-dir=${path.join(dir, 'kcm')}`,
      '--leader-elect=false',
      // The OpenShift copy's admission wants an openshift-service-ca.crt ConfigMap in every pod's
      // token volume; its controller-manager publishes it only with per-controller credentials.
      '--use-service-account-credentials=true',
      `--service-account-private-key-file=${sa.key}`,
      `--root-ca-file=${pki.ca}`,
      '--profiling=false',
    ]);
    this.daemon('kube-scheduler', this.bin('kube-scheduler'), [
      `--kubeconfig=${schedConfig}`,
      `--authentication-kubeconfig=${schedConfig}`,
      `--authorization-kubeconfig=${schedConfig}`,
      '--bind-address=127.0.0.1',
      '--secure-port=16259',
      '--leader-elect=false',
      '--profiling=false',
    ]);

    for (let i = 1; i <= this.opts.nodes; i++) await this.addNode(i);
  }

  private daemon(name: string, cmd: string, args: string[], netns?: string): Daemon {
    const logFile = path.join(this.opts.dir, 'logs', `${name}.log`);
    fs.mkdirSync(path.dirname(logFile), { recursive: true });
    const d = netns
      ? new Daemon(name, logFile, 'nsenter', [`--net=/run/netns/${netns}`, '--', cmd, ...args])
      : new Daemon(name, logFile, cmd, args);
    this.control.push(d);
    d.onStart = () => this.saveState();
    d.start();
    return d;
  }

  /** Node i: its own engine, docker-cri and kubelet; nodes after the first in a netns of their own. */
  async addNode(i: number): Promise<NodeHandle> {
    const { dir, log, repo } = this.opts;
    const pki = this.pki!;
    const name = `dcri-e2e-${i}`;
    const ndir = path.join(dir, `node${i}`);
    fs.mkdirSync(ndir, { recursive: true });
    const bridge = `dcrie2e${i}`;
    let netns: string | undefined;
    if (i > 1) {
      netns = `dcri-e2e-${i}`;
      const veth = `dcrie2e-v${i}`;
      const link = `${SUBNET}.${250 + i}`;
      this.state.nodes.push({
        name,
        bridge,
        netns,
        veth,
        cgroupRoot: name,
        podLogsDir: path.join(ndir, 'pods'),
      });
      this.saveState();
      await must('ip', ['netns', 'add', netns]);
      await must('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
      await must('ip', ['link', 'add', veth, 'type', 'veth', 'peer', 'name', 'uplink', 'netns', netns]);
      await must('ip', ['addr', 'add', `${link}.1/30`, 'dev', veth]);
      await must('ip', ['link', 'set', veth, 'up']);
      await must('ip', ['-n', netns, 'addr', 'add', `${link}.2/30`, 'dev', 'uplink']);
      await must('ip', ['-n', netns, 'link', 'set', 'uplink', 'up']);
      await addBridge(bridge, `${nodeIp(i)}/24`, ['-n', netns]);
      // Pod bridges reach each other through the host: routes, no overlay.
      await must('ip', ['route', 'replace', `${SUBNET}.${i}.0/24`, 'via', `${link}.2`]);
      await must('ip', ['-n', netns, 'route', 'replace', `${SUBNET}.0.0/16`, 'via', `${link}.1`]);
      await must('ip', ['netns', 'exec', netns, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
      for (const other of this.nodes) {
        await allowForward(other.netns ? `dcrie2e-v${other.index}` : other.bridge, veth);
        await allowForward(veth, other.netns ? `dcrie2e-v${other.index}` : other.bridge);
      }
    }
    if (i === 1) await allowForward(bridge, bridge);
    makeCgroupRoot(name);

    log(`${name}: engine`);
    const engineDir = path.join(ndir, 'engine');
    fs.mkdirSync(engineDir, { recursive: true });
    const sock = path.join(engineDir, 'docker.sock');
    const dockerHost = `unix://${sock}`;
    const dockerdDir = path.dirname(this.opts.dockerd);
    const env = {
      ...process.env,
      PATH: [dockerdDir, path.join(dockerdDir, '..', 'bin'), process.env.PATH].join(':'),
      // Every image is made offline; a pull of anything else (a conformance spec's image we did
      // not make) fails at once on a closed loopback port instead of resolving and reaching out
      // to a registry off the machine.
      HTTP_PROXY: 'http://127.0.0.1:9',
      HTTPS_PROXY: 'http://127.0.0.1:9',
      NO_PROXY: 'localhost,127.0.0.1',
    };
    const engineArgs = [
      `--data-root=${path.join(engineDir, 'data')}`,
      `--exec-root=${path.join(engineDir, 'exec')}`,
      `--host=${dockerHost}`,
      `--pidfile=${path.join(engineDir, 'docker.pid')}`,
      `--bridge=${bridge}`,
      '--iptables=false',
      '--ip6tables=false',
      '--ip-masq=false',
    ];
    const engineLog = path.join(dir, 'logs', `dockerd-${i}.log`);
    fs.mkdirSync(path.dirname(engineLog), { recursive: true });
    const engine = netns
      ? new Daemon(
          `dockerd-${i}`,
          engineLog,
          'nsenter',
          [`--net=/run/netns/${netns}`, '--', this.opts.dockerd, ...engineArgs],
          { env },
        )
      : new Daemon(`dockerd-${i}`, engineLog, this.opts.dockerd, engineArgs, { env });
    this.pending.push(engine);
    engine.onStart = () => this.saveState();
    engine.start();
    await waitFor(`dockerd of ${name}`, async () => {
      if (!engine.running) throw new GaveUp(`dockerd exited:\n${engine.tail()}`);
      return (await run('curl', ['-sf', '--max-time', '3', '--unix-socket', sock, 'http://docker/_ping']))
        .code === 0
        ? true
        : undefined;
    });
    log(`${name}: images (scripts/build-images.sh)`);
    await must('bash', [path.join(repo, 'scripts/build-images.sh')], {
      env: { ...process.env, DOCKER_HOST: dockerHost },
      timeoutMs: 300_000,
    });

    log(`${name}: docker-cri`);
    const criSocket = path.join(ndir, 'docker-cri.sock');
    const nodeOptions = fs.readFileSync(path.join(repo, 'shims/node-options'), 'utf8').trim().split(/\s+/);
    const nodeEnv = Object.fromEntries(
      fs
        .readFileSync(path.join(repo, 'shims/node-env'), 'utf8')
        .trim()
        .split(/\s+/)
        .map((kv) => kv.split('=') as [string, string]),
    );
    const dcriArgs = [
      ...nodeOptions,
      path.join(repo, 'dist/src/main.js'),
      `--container-runtime-endpoint=unix://${criSocket}`,
      `--docker-endpoint=${dockerHost}`,
      `--root-directory=${path.join(ndir, 'docker-cri')}`,
      '--streaming-bind-addr=127.0.0.1:0',
      `--log-level=${process.env.DCRI_E2E_LOG_LEVEL ?? 'info'}`,
    ];
    const dcriLog = path.join(dir, 'logs', `docker-cri-${i}.log`);
    const dcri = netns
      ? new Daemon(
          `docker-cri-${i}`,
          dcriLog,
          'nsenter',
          [`--net=/run/netns/${netns}`, '--', process.execPath, ...dcriArgs],
          {
            env: { ...process.env, ...nodeEnv },
          },
        )
      : new Daemon(`docker-cri-${i}`, dcriLog, process.execPath, dcriArgs, {
          env: { ...process.env, ...nodeEnv },
        });
    this.pending.push(dcri);
    dcri.onStart = () => this.saveState();
    dcri.start();
    await waitFor(`docker-cri of ${name}`, async () => {
      if (!dcri.running) throw new GaveUp(`docker-cri exited:\n${dcri.tail()}`);
      return fs.existsSync(criSocket) ? true : undefined;
    });

    log(`${name}: kubelet`);
    const kubeletDir = path.join(ndir, 'kubelet');
    fs.mkdirSync(kubeletDir, { recursive: true });
    const kubeconfig = path.join(ndir, 'kubelet.kubeconfig');
    writeKubeconfig(
      kubeconfig,
      this.server,
      pki.ca,
      await makeCert(pki, `kubelet-${i}`, `/O=system:nodes/CN=system:node:${name}`),
    );
    const podLogsDir = path.join(ndir, 'pods');
    const config = path.join(ndir, 'kubelet-config.yaml');
    fs.writeFileSync(
      config,
      kubeletConfig({ ip: nodeIp(i), criSocket, ca: pki.ca, podLogsDir, cgroupRoot: `/${name}` }),
    );
    const kubeletArgs = [
      `--config=${config}`,
      `--kubeconfig=${kubeconfig}`,
      `--root-dir=${kubeletDir}`,
      `--node-ip=${nodeIp(i)}`,
      `--hostname-override=${name}`,
      '--v=2',
    ];
    const kubeletLog = path.join(dir, 'logs', `kubelet-${i}.log`);
    const kubelet = netns
      ? new Daemon(`kubelet-${i}`, kubeletLog, 'nsenter', [
          `--net=/run/netns/${netns}`,
          '--',
          this.bin('kubelet'),
          ...kubeletArgs,
        ])
      : new Daemon(`kubelet-${i}`, kubeletLog, this.bin('kubelet'), kubeletArgs);
    const handle: NodeHandle = {
      index: i,
      name,
      ip: nodeIp(i),
      bridge,
      netns,
      dir: ndir,
      dockerHost,
      criSocket,
      engine,
      dcri,
      kubelet,
      podLogsDir,
      cgroupRoot: name,
    };
    this.nodes.push(handle);
    this.pending = [];
    kubelet.onStart = () => this.saveState();
    kubelet.start();
    await this.waitNodeReady(handle);
    return handle;
  }

  async waitNodeReady(node: NodeHandle, timeoutMs = 180_000): Promise<void> {
    await waitFor(
      `node ${node.name} Ready`,
      async () => {
        if (!node.kubelet.running) throw new GaveUp(`kubelet exited:\n${node.kubelet.tail()}`);
        const r = await this.kubectl.run([
          'get',
          'node',
          node.name,
          '-o',
          'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
        ]);
        return r.stdout.trim() === 'True' ? true : undefined;
      },
      timeoutMs,
    );
  }

  /**
   * Everything back as it was, whatever state the run reached: pods first (through the API while
   * it answers), then the kubelets, docker-cri, whatever their engines still hold, the engines, the
   * control plane; then tunables, cgroups, firewall rules, links, namespaces, mounts, files.
   */
  async down(keepDir = false): Promise<string[]> {
    const problems: string[] = [];
    const { log } = this.opts;
    const apiUp = this.control.some((d) => d.name === 'kube-apiserver' && d.running);
    if (apiUp && this.nodes.some((n) => n.kubelet.running)) {
      log('teardown: deleting pods');
      const ns = await this.kubectl.run(['get', 'ns', '-l', 'docker-cri-e2e=1', '-o', 'name']);
      const names = ns.stdout.split('\n').filter(Boolean);
      if (names.length)
        await this.kubectl.run(['delete', ...names, '--wait=true', '--timeout=120s'], { timeoutMs: 150_000 });
      await this.kubectl.run(['delete', 'pods', '--all', '-A', '--wait=true', '--timeout=60s'], {
        timeoutMs: 90_000,
      });
    }
    for (const n of this.nodes) {
      log(`teardown: ${n.name}`);
      await n.kubelet.stop();
      await n.dcri.stop();
      if (n.engine.running) {
        const ids = await run('/usr/bin/docker', ['-H', n.dockerHost, 'ps', '-aq']);
        const list = ids.stdout.split('\n').filter(Boolean);
        if (list.length)
          await run('/usr/bin/docker', ['-H', n.dockerHost, 'rm', '-f', ...list], { timeoutMs: 120_000 });
      }
      await n.engine.stop(30_000);
    }
    for (const d of [...this.pending].reverse()) await d.stop();
    for (const d of [...this.control].reverse()) await d.stop();
    return [...problems, ...(await cleanHost(this.state, this.opts.dir, keepDir, log))];
  }
}

/** The host side of teardown, also used on a state file a killed run left. */
export async function cleanHost(
  state: SavedState,
  dir: string,
  keepDir: boolean,
  log: (m: string) => void,
): Promise<string[]> {
  const problems: string[] = [];
  for (const pid of state.pids ?? []) {
    // Only a process that is still one of ours: its command line names the run's directory.
    if (readIfExists(`/proc/${pid}/cmdline`).includes(dir)) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
  }
  const changed = restoreSysctls(state.sysctls);
  if (changed.length) log(`teardown: restored ${changed.join(', ')}`);
  for (const n of [...state.nodes].reverse()) {
    removeContainerLogLinks(n.podLogsDir);
    const left = removeCgroupRoot(n.cgroupRoot);
    if (left.length) problems.push(`cgroups left: ${left.join(' ')}`);
    if (n.veth) {
      for (const other of state.nodes) {
        if (other === n) continue;
        const o = other.veth ?? other.bridge;
        await removeForward(o, n.veth);
        await removeForward(n.veth, o);
      }
      await deleteLink(n.veth);
      await run('ip', ['route', 'del', `${SUBNET}.${n.name.split('-').pop()}.0/24`]);
    }
    if (n.netns) await run('ip', ['netns', 'del', n.netns]);
    else {
      await removeForward(n.bridge, n.bridge);
      await deleteLink(n.bridge);
    }
  }
  unmountUnder(dir);
  if (!keepDir) fs.rmSync(dir, { recursive: true, force: true });
  return problems;
}

export function readSavedState(dir: string): SavedState | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8')) as SavedState;
  } catch {
    return undefined;
  }
}

function kubeletConfig(o: {
  ip: string;
  criSocket: string;
  ca: string;
  podLogsDir: string;
  cgroupRoot: string;
}): string {
  // Only what this host or the run's isolation needs; feature gates stay at the kubelet's defaults.
  return [
    'apiVersion: kubelet.config.k8s.io/v1beta1',
    'kind: KubeletConfiguration',
    // This host is cgroup v1; the kubelet refuses it unless told.
    'failCgroupV1: false',
    `containerRuntimeEndpoint: unix://${o.criSocket}`,
    `imageServiceEndpoint: unix://${o.criSocket}`,
    'cgroupDriver: cgroupfs',
    `cgroupRoot: ${o.cgroupRoot}`,
    `address: ${o.ip}`,
    'port: 10250',
    'healthzPort: 0',
    'readOnlyPort: 0',
    `podLogsDir: ${o.podLogsDir}`,
    // The host's iptables are not the run's to change.
    'makeIPTablesUtilChains: false',
    'authentication:',
    '  anonymous: {enabled: false}',
    '  webhook: {enabled: true}',
    `  x509: {clientCAFile: ${o.ca}}`,
    'authorization: {mode: Webhook}',
    // Images are made offline: garbage collection must never take them, and a full shared disk
    // must not evict the run's pods.
    'imageGCHighThresholdPercent: 100',
    'imageGCLowThresholdPercent: 99',
    'evictionHard: {memory.available: 100Mi, nodefs.available: 1%, imagefs.available: 1%, nodefs.inodesFree: 1%}',
    'failSwapOn: false',
    'serializeImagePulls: false',
    '',
  ].join('\n');
}
