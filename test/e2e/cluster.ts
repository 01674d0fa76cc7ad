import { execFileSync } from 'child_process';
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
import { evictFromPageCache } from '../support/page-cache';
import { readIfExists } from './check';
import { Kubectl } from './kubectl';
import { makeCa, makeCert, makeServiceAccountKey, writeKubeconfig, type Pki } from './pki';
import { awaitDaemon, Daemon, must, run, waitFor } from './proc';

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
  /** The CRI runtime under the kubelet (docker-cri unless asked). */
  runtime?: Runtime;
  /** The cri-dockerd binary (runtime cri-dockerd). */
  criDockerd?: string;
  /** An unpacked containerd with usr/bin/containerd, usr/sbin/runc and usr/lib/cni (runtime containerd). */
  containerdDir?: string;
  /** Image tarballs `docker load`ed / `ctr images import`ed into each node before the workflows. */
  images?: string;
  /** Kubelet feature gates set in its config (none by default: the kubelet's own defaults). */
  featureGates?: Record<string, boolean>;
}

/**
 * docker-cri (this tree), cri-dockerd (the Go runtime, on the same kind of private engine) or
 * containerd's own CRI plugin (runtime and engine in one process, a bridge CNI config).
 */
export type Runtime = 'docker-cri' | 'cri-dockerd' | 'containerd';
export const RUNTIMES: readonly Runtime[] = ['docker-cri', 'cri-dockerd', 'containerd'];

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
  /** dockerd, or containerd for the containerd runtime (then also `dcri`). */
  engine: Daemon;
  /** The CRI runtime: docker-cri, cri-dockerd or containerd. */
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
    const { dir, log } = this.opts;
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

    const runtime = this.opts.runtime ?? 'docker-cri';
    let engine: Daemon;
    let dcri: Daemon;
    let dockerHost = '';
    let criSocket: string;
    if (runtime === 'containerd') {
      ({ daemon: engine, socket: criSocket } = await this.startContainerd(i, ndir, netns));
      dcri = engine;
    } else {
      ({ engine, dockerHost } = await this.startEngine(i, ndir, bridge, netns));
      ({ dcri, criSocket } =
        runtime === 'cri-dockerd'
          ? await this.startCriDockerd(i, ndir, dockerHost, netns)
          : await this.startDockerCri(i, ndir, dockerHost, netns));
    }
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
      kubeletConfig({
        ip: nodeIp(i),
        criSocket,
        ca: pki.ca,
        podLogsDir,
        cgroupRoot: `/${name}`,
        featureGates: this.opts.featureGates ?? {},
      }),
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

  /** A spawned daemon of node i, in its network namespace if it has one; stopped with the node. */
  private nodeDaemon(
    name: string,
    cmd: string,
    args: string[],
    netns: string | undefined,
    opts: { env?: NodeJS.ProcessEnv } = {},
  ): Daemon {
    const logFile = path.join(this.opts.dir, 'logs', `${name}.log`);
    fs.mkdirSync(path.dirname(logFile), { recursive: true });
    const d = netns
      ? new Daemon(name, logFile, 'nsenter', [`--net=/run/netns/${netns}`, '--', cmd, ...args], opts)
      : new Daemon(name, logFile, cmd, args, opts);
    this.pending.push(d);
    d.onStart = () => this.saveState();
    d.start();
    return d;
  }

  /** Node i's private Docker engine (its own data root, socket and bridge) with busybox and pause in it. */
  private async startEngine(
    i: number,
    ndir: string,
    bridge: string,
    netns: string | undefined,
  ): Promise<{ engine: Daemon; dockerHost: string }> {
    const { log, repo } = this.opts;
    const name = `dcri-e2e-${i}`;
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
    // cri-dockerd gives every pause container oom_score_adj -998, which a host without
    // CAP_SYS_RESOURCE (this VM's sandbox) refuses: runc fails "can't get final child's PID from
    // pipe". docker-cri clamps such values to 0 itself; for cri-dockerd the engine's runc is
    // wrapped to do the same, so that the comparison is of the runtimes and not of this host.
    const clamp =
      this.opts.runtime === 'cri-dockerd' && !negativeOomAllowed()
        ? writeOomClampRunc(engineDir, env.PATH)
        : undefined;
    if (clamp) log(`${name}: negative oom_score_adj refused here: engine runs runc through ${clamp}`);
    const engineArgs = [
      ...(clamp ? [`--add-runtime=oomclamp=${clamp}`, '--default-runtime=oomclamp'] : []),
      `--data-root=${path.join(engineDir, 'data')}`,
      `--exec-root=${path.join(engineDir, 'exec')}`,
      `--host=${dockerHost}`,
      `--pidfile=${path.join(engineDir, 'docker.pid')}`,
      `--bridge=${bridge}`,
      '--iptables=false',
      '--ip6tables=false',
      '--ip-masq=false',
    ];
    const engine = this.nodeDaemon(`dockerd-${i}`, this.opts.dockerd, engineArgs, netns, { env });
    await awaitDaemon(
      `dockerd of ${name}`,
      engine,
      async () =>
        (await run('curl', ['-sf', '--max-time', '3', '--unix-socket', sock, 'http://docker/_ping'])).code ===
        0,
    );
    log(`${name}: images (scripts/build-images.sh)`);
    await must('bash', [path.join(repo, 'scripts/build-images.sh')], {
      env: { ...process.env, DOCKER_HOST: dockerHost },
      timeoutMs: 300_000,
    });

    return { engine, dockerHost };
  }

  private async startDockerCri(
    i: number,
    ndir: string,
    dockerHost: string,
    netns: string | undefined,
  ): Promise<{ dcri: Daemon; criSocket: string }> {
    const { log, repo } = this.opts;
    const name = `dcri-e2e-${i}`;
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
      `--container-runtime-endpoint=unix://${criSocket}`,
      `--docker-endpoint=${dockerHost}`,
      `--root-directory=${path.join(ndir, 'docker-cri')}`,
      '--streaming-bind-addr=127.0.0.1:0',
      `--log-level=${process.env.DCRI_E2E_LOG_LEVEL ?? 'info'}`,
    ];
    // What nodes run: the package's single executable (node's flags built in), started as its unit
    // starts it, the file read back from disk as postinst leaves it; DCRI_E2E_TARGET=dist runs
    // `node <flags> dist/src/main.js` instead.
    let dcri: Daemon;
    if (process.env.DCRI_E2E_TARGET === 'dist') {
      dcri = this.nodeDaemon(
        `docker-cri-${i}`,
        process.execPath,
        [...nodeOptions, path.join(repo, 'dist/src/main.js'), ...dcriArgs],
        netns,
        { env: { ...process.env, ...nodeEnv } },
      );
    } else {
      const sea = path.join(repo, 'dist/sea/docker-cri');
      evictFromPageCache(sea);
      dcri = this.nodeDaemon(`docker-cri-${i}`, sea, dcriArgs, netns, {
        env: { ...process.env, ...nodeEnv },
      });
    }
    await awaitDaemon(`docker-cri of ${name}`, dcri, async () => fs.existsSync(criSocket));

    return { dcri, criSocket };
  }

  /**
   * cri-dockerd on the node's engine. Its no-op network plugin leaves pods on the engine's bridge,
   * as docker-cri's docker plugin does; the pause image is the one scripts/build-images.sh made.
   */
  private async startCriDockerd(
    i: number,
    ndir: string,
    dockerHost: string,
    netns: string | undefined,
  ): Promise<{ dcri: Daemon; criSocket: string }> {
    const { log } = this.opts;
    const bin = this.opts.criDockerd;
    if (!bin) throw new Error('runtime cri-dockerd needs its binary (DCRI_E2E_CRI_DOCKERD)');
    log(`dcri-e2e-${i}: cri-dockerd`);
    const criSocket = path.join(ndir, 'cri-dockerd.sock');
    const dcri = this.nodeDaemon(
      `cri-dockerd-${i}`,
      bin,
      [
        `--container-runtime-endpoint=unix://${criSocket}`,
        `--docker-endpoint=${dockerHost}`,
        `--cri-dockerd-root-directory=${path.join(ndir, 'cri-dockerd')}`,
        `--cni-cache-dir=${path.join(ndir, 'cni-cache')}`,
        '--network-plugin=',
        '--pod-infra-container-image=registry.k8s.io/pause:3.10',
        '--streaming-bind-addr=127.0.0.1:0',
        `--log-level=${process.env.DCRI_E2E_LOG_LEVEL ?? 'info'}`,
      ],
      netns,
    );
    await awaitDaemon(`cri-dockerd of dcri-e2e-${i}`, dcri, async () => fs.existsSync(criSocket));
    return { dcri, criSocket };
  }

  /**
   * containerd with its CRI plugin: root, state, sockets, CNI config and IPAM store all in the
   * run's directory (pod network namespaces too), NRI off (it would make /var/run/nri), runc and
   * the CNI plugins from `containerdDir`; images imported from `images`, busybox also as
   * busybox:latest for the workflows' pods.
   */
  private async startContainerd(
    i: number,
    ndir: string,
    netns: string | undefined,
  ): Promise<{ daemon: Daemon; socket: string }> {
    const { log } = this.opts;
    const cd = this.opts.containerdDir;
    if (!cd) throw new Error('runtime containerd needs an unpacked containerd (DCRI_E2E_CONTAINERD_DIR)');
    const images = this.opts.images;
    if (!images) throw new Error('runtime containerd needs --images=DIR with busybox and pause tarballs');
    log(`dcri-e2e-${i}: containerd`);
    const cdir = path.join(ndir, 'containerd');
    const cni = path.join(cdir, 'cni');
    fs.mkdirSync(cni, { recursive: true });
    const socket = path.join(cdir, 'containerd.sock');
    fs.writeFileSync(
      path.join(cni, '10-bridge.conflist'),
      JSON.stringify(
        {
          cniVersion: '1.0.0',
          name: 'dcri-e2e',
          plugins: [
            {
              type: 'bridge',
              bridge: `dcrie2e${i}`,
              isGateway: true,
              ipMasq: false,
              hairpinMode: true,
              ipam: {
                type: 'host-local',
                dataDir: path.join(cdir, 'ipam'),
                ranges: [
                  [{ subnet: `${SUBNET}.${i}.0/24`, gateway: nodeIp(i), rangeStart: `${SUBNET}.${i}.10` }],
                ],
                routes: [{ dst: '0.0.0.0/0' }],
              },
            },
            { type: 'loopback' },
          ],
        },
        null,
        2,
      ),
    );
    const pause = tarballTags(images).find((t) => /\/pause:/.test(t)) ?? 'registry.k8s.io/pause:3.10';
    const config = path.join(cdir, 'config.toml');
    fs.writeFileSync(
      config,
      [
        'version = 3',
        `root = "${path.join(cdir, 'root')}"`,
        `state = "${path.join(cdir, 'state')}"`,
        "disabled_plugins = ['io.containerd.nri.v1.nri']",
        '[grpc]',
        `  address = "${socket}"`,
        '[ttrpc]',
        `  address = "${socket}.ttrpc"`,
        "[plugins.'io.containerd.internal.v1.opt']",
        `  path = "${path.join(cdir, 'opt')}"`,
        "[plugins.'io.containerd.grpc.v1.cri']",
        "  stream_server_address = '127.0.0.1'",
        "  stream_server_port = '0'",
        "[plugins.'io.containerd.cri.v1.images'.pinned_images]",
        `  sandbox = "${pause}"`,
        "[plugins.'io.containerd.cri.v1.runtime']",
        '  netns_mounts_under_state_dir = true',
        // The pause container's -998 is refused on a host without CAP_SYS_RESOURCE: no value below
        // containerd's own (what docker-cri does itself, and cri-dockerd's engine gets a wrapper for).
        '  restrict_oom_score_adj = true',
        "[plugins.'io.containerd.cri.v1.runtime'.cni]",
        `  bin_dirs = ["${path.join(cd, 'usr/lib/cni')}"]`,
        `  conf_dir = "${cni}"`,
        "[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]",
        "  runtime_type = 'io.containerd.runc.v2'",
        "[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]",
        `  BinaryName = "${path.join(cd, 'usr/sbin/runc')}"`,
        '  SystemdCgroup = false',
        '',
      ].join('\n'),
    );
    const env = { ...process.env, PATH: [path.join(cd, 'usr/bin'), process.env.PATH].join(':') };
    const daemon = this.nodeDaemon(
      `containerd-${i}`,
      path.join(cd, 'usr/bin/containerd'),
      [`--config=${config}`, `--log-level=${process.env.DCRI_E2E_LOG_LEVEL ?? 'info'}`],
      netns,
      { env },
    );
    await awaitDaemon(
      `containerd of dcri-e2e-${i}`,
      daemon,
      async () => (await this.ctr(socket, ['version'])).code === 0,
    );
    for (const f of tarballs(images)) await mustOk(this.ctr(socket, ['images', 'import', f], 300_000), f);
    const busybox = tarballTags(images).find((t) => /\/busybox:/.test(t));
    if (busybox)
      await mustOk(
        this.ctr(socket, ['images', 'tag', '--force', busybox, 'docker.io/library/busybox:latest']),
        'tag',
      );
    return { daemon, socket };
  }

  /**
   * What containerd still runs once the kubelet is gone: every task killed and removed, so that
   * its shims (which outlive containerd by design) exit with them.
   */
  private async removeContainerdTasks(n: NodeHandle): Promise<void> {
    if (!n.engine.running) return;
    const tasks = (await this.ctr(n.criSocket, ['tasks', 'ls', '-q'])).stdout.split('\n').filter(Boolean);
    for (const t of tasks) await this.ctr(n.criSocket, ['tasks', 'kill', '-s', 'SIGKILL', t]);
    for (const t of tasks) await this.ctr(n.criSocket, ['tasks', 'rm', '-f', t]);
    const ctrs = (await this.ctr(n.criSocket, ['containers', 'ls', '-q'])).stdout.split('\n').filter(Boolean);
    if (ctrs.length) await this.ctr(n.criSocket, ['containers', 'rm', ...ctrs]);
  }

  private ctr(socket: string, args: string[], timeoutMs = 60_000): ReturnType<typeof run> {
    return run(
      path.join(this.opts.containerdDir ?? '', 'usr/bin/ctr'),
      ['-a', socket, '-n', 'k8s.io', ...args],
      {
        timeoutMs,
      },
    );
  }

  async waitNodeReady(node: NodeHandle, timeoutMs = 180_000): Promise<void> {
    await awaitDaemon(
      `node ${node.name} Ready`,
      node.kubelet,
      async () => {
        const r = await this.kubectl.run([
          'get',
          'node',
          node.name,
          '-o',
          'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
        ]);
        return r.stdout.trim() === 'True';
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
      if (n.dcri === n.engine) await this.removeContainerdTasks(n);
      await n.dcri.stop();
      if (n.dcri === n.engine) killShimsOf(this.opts.dir);
      if (n.engine.running && n.dockerHost) {
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

/** Whether this process may lower its oom_score_adj below 0 (it is put back at once). */
function negativeOomAllowed(): boolean {
  const file = '/proc/self/oom_score_adj';
  const original = readIfExists(file).trim();
  if (!original) return true;
  try {
    fs.writeFileSync(file, '-998');
  } catch {
    return false;
  }
  fs.writeFileSync(file, original);
  return true;
}

/** A runc wrapper that raises a negative oomScoreAdj in the bundle's config.json to 0. */
function writeOomClampRunc(dir: string, pathEnv: string | undefined): string {
  const runc = (pathEnv ?? '')
    .split(':')
    .map((d) => path.join(d, 'runc'))
    .find((f) => fs.existsSync(f));
  if (!runc) throw new Error("runc is not on the engine's PATH");
  const file = path.join(dir, 'runc-oom-clamp');
  fs.writeFileSync(
    file,
    [
      '#!/bin/sh',
      'prev=',
      'for a in "$@"; do',
      '  if [ "$prev" = --bundle ] || [ "$prev" = -b ]; then',
      '    sed -i -E \'s/"oomScoreAdj":-[0-9]+/"oomScoreAdj":0/\' "$a/config.json"',
      '  fi',
      '  prev=$a',
      'done',
      `exec ${runc} "$@"`,
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  return file;
}

/** containerd's shims outlive it by design: any left with an address in the run's directory go. */
function killShimsOf(dir: string): void {
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    const cmd = readIfExists(`/proc/${pid}/cmdline`);
    if (cmd.includes('containerd-shim') && cmd.includes(`${dir}/`)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
  }
}

/** The image tarballs of a directory (as `docker save` writes them). */
export function tarballs(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.tar'))
    .map((f) => path.join(dir, f));
}

/** The repository tags the tarballs of a directory carry (their manifest.json). */
export function tarballTags(dir: string): string[] {
  return tarballs(dir).flatMap((f) => {
    try {
      const manifest = JSON.parse(
        execFileSync('tar', ['-xOf', f, 'manifest.json'], { encoding: 'utf8' }),
      ) as {
        RepoTags?: string[];
      }[];
      return manifest.flatMap((m) => m.RepoTags ?? []);
    } catch {
      return [];
    }
  });
}

async function mustOk(r: ReturnType<typeof run>, what: string): Promise<void> {
  const res = await r;
  if (res.code !== 0) throw new Error(`ctr ${what} exited ${res.code}: ${res.stderr.trim()}`);
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
  featureGates: Record<string, boolean>;
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
    // Only where asked (--kubelet-feature-gates): cri-dockerd's streaming needs one off since 1.36.
    ...(Object.keys(o.featureGates).length
      ? ['featureGates:', ...Object.entries(o.featureGates).map(([k, v]) => `  ${k}: ${v}`)]
      : []),
    '',
  ].join('\n');
}
