import fs from 'fs';
import path from 'path';
import { status } from '../grpc/status-codes';
import type { ContainerInspectInfo } from 'dockerode';
import type { Config } from '../config';
import type { Deps } from '../deps';
import type { PodSandboxConfig__Output } from '../generated/runtime/v1/PodSandboxConfig';
import { CriError } from '../grpc/status-error';
import { logger } from '../logger';
import { parseNetworkConfig } from './cni/config';
import { loadNetwork } from './cni/config-loader';
import { addNetworkList, delNetworkList, type InvokeOptions } from './cni/invoke';
import { capabilityArgsFor, cniArgsFor, PodNetworkInputError, usesHostNetwork } from './cni/pod-capabilities';
import { PodCidrStore } from './cni/pod-cidr';
import { findLibcniCache, removeLibcniCache, writeLibcniCache } from './cni/libcni-cache';
import { PluginError } from './cni/plugin-exec';
import { parseResult, podIps as ipsOf } from './cni/result';
import { ResultStore, type NetworkRecord } from './cni/result-store';
import type { CniResult, RuntimeConf } from './cni/types';
import type { PodNetworkPlugin } from './pod-network';
import type { PodIps } from '../translate/sandbox-status';

/** Debian's containernetworking-plugins install here, whatever --cni-bin-dir says. */
export const DEBIAN_CNI_DIR = '/usr/lib/cni';
/** The pod's interface inside its namespace, as every Kubernetes runtime names it. */
export const POD_IFNAME = 'eth0';

export interface NetworkReadiness {
  ready: boolean;
  reason: string;
  message: string;
}

/** The network namespace path of a running process, or '' when it is gone (DEL allows that). */
export function netnsOfPid(pid: number | undefined): string {
  if (!pid || pid <= 0) return '';
  const p = `/proc/${pid}/ns/net`;
  return fs.existsSync(p) ? p : '';
}

/**
 * Pod networking through CNI plugins (`--network-plugin cni`): the pause container starts with
 * Docker's `none` network, then ADD of the first valid configuration runs on its namespace;
 * StopPodSandbox runs DEL. What ADD returned is kept per sandbox under the root directory, so pod
 * IPs and the DEL survive restarts of docker-cri and dockerd.
 */
export class CniNetwork {
  /** What the pause container is created with in this mode. */
  readonly sandboxNetworkMode = 'none';
  readonly binDirs: string[];
  readonly store: ResultStore;
  private readonly invoke: InvokeOptions;

  constructor(
    private readonly config: Config,
    readonly podCidrs: PodCidrStore = new PodCidrStore(config.rootDirectory),
  ) {
    // A comma-separated list, as cri-dockerd's --cni-bin-dir takes it.
    const given = config.cniBinDir.split(',').map((d) => d.trim());
    this.binDirs = [...new Set([...given, DEBIAN_CNI_DIR].filter((d) => d !== ''))];
    this.store = new ResultStore(path.join(config.rootDirectory, 'cni'));
    this.invoke = {
      binDirs: this.binDirs,
      timeoutMs: Math.max(10_000, config.dockerCallTimeoutSeconds * 1000),
    };
  }

  async readiness(): Promise<NetworkReadiness> {
    const loaded = await loadNetwork(this.config.cniConfDir, this.binDirs);
    if (loaded.network) return { ready: true, reason: '', message: '' };
    return {
      ready: false,
      reason: 'NetworkPluginNotReady',
      message: `no valid CNI network configuration: ${loaded.problems.join('; ')}`,
    };
  }

  /** Does this pod get a CNI attachment at all? Host-network pods do not. */
  wants(podConfig: PodSandboxConfig__Output): boolean {
    return !usesHostNetwork(podConfig);
  }

  /**
   * ADD for a sandbox whose pause process runs as `pid`. Returns the pod IPs. On failure, whatever
   * the plugins did is undone (DEL) and the error names the network, its file and the plugin.
   */
  async setUp(sandboxId: string, pid: number, podConfig: PodSandboxConfig__Output): Promise<string[]> {
    if (!this.wants(podConfig)) return [];
    const loaded = await loadNetwork(this.config.cniConfDir, this.binDirs);
    const list = loaded.network;
    if (!list) {
      throw new CriError(
        status.FAILED_PRECONDITION,
        `pod network not ready: no valid CNI network configuration: ${loaded.problems.join('; ')}`,
      );
    }
    let capabilityArgs;
    try {
      capabilityArgs = capabilityArgsFor(podConfig, this.podCidrs.get());
    } catch (err) {
      if (err instanceof PodNetworkInputError) throw new CriError(status.INVALID_ARGUMENT, err.message);
      throw err;
    }
    const netns = netnsOfPid(pid);
    if (!netns) {
      throw new CriError(status.FAILED_PRECONDITION, `sandbox ${sandboxId}: pause process ${pid} is gone`);
    }
    const record: NetworkRecord = {
      version: 1,
      sandboxId,
      networkName: list.name,
      source: list.source,
      config: list.bytes,
      ifName: POD_IFNAME,
      args: cniArgsFor(podConfig, sandboxId),
      capabilityArgs,
      podIps: [],
    };
    // Written before ADD: if docker-cri dies half way, StopPodSandbox still knows what to DEL.
    await this.store.save(record);
    const rt: RuntimeConf = { ...this.runtimeConf(record), netns };
    let partial: CniResult | undefined;
    let result: CniResult;
    try {
      result = await addNetworkList(list, rt, this.invoke, (r) => (partial = r));
    } catch (err) {
      await this.undoFailedAdd(record, rt, partial);
      throw this.pluginFailure(err, `set up pod network "${list.name}" (${list.source})`, sandboxId);
    }
    record.result = result.raw;
    record.podIps = ipsOf(result, POD_IFNAME);
    await this.store.save(record);
    if (this.config.cniCacheDir) {
      await writeLibcniCache(this.config.cniCacheDir, record, netns).catch((err: Error) =>
        logger.warn('could not write the libcni result cache', { sandbox: sandboxId, error: err.message }),
      );
    }
    logger.info('pod network set up', { sandbox: sandboxId, network: list.name, ips: record.podIps });
    return record.podIps;
  }

  /**
   * DEL for a sandbox, with the configuration and result its ADD used. `pid` 0 (pause container
   * dead) sends an empty namespace path, which the spec allows: plugins still release addresses
   * and host-port rules. Idempotent: without a record there is nothing to do.
   */
  async tearDown(sandboxId: string, pid: number | undefined): Promise<void> {
    const record = await this.lookup(sandboxId);
    if (!record) return;
    const list = parseNetworkConfig(record.source, record.config);
    const cached = record.result ? parseResult(JSON.stringify(record.result), 'stored result') : undefined;
    const rt: RuntimeConf = { ...this.runtimeConf(record), netns: netnsOfPid(pid) };
    try {
      await delNetworkList(list, rt, cached, this.invoke);
    } catch (err) {
      throw this.pluginFailure(err, `tear down pod network "${list.name}" (${list.source})`, sandboxId);
    }
    await this.store.remove(sandboxId);
    if (this.config.cniCacheDir) await removeLibcniCache(this.config.cniCacheDir, record);
    logger.info('pod network torn down', { sandbox: sandboxId, network: list.name, netns: rt.netns });
  }

  /** The pod's IPs from its stored ADD result; empty for host-network pods and after DEL. */
  async podIps(sandboxId: string): Promise<string[]> {
    const record = await this.lookup(sandboxId).catch((err: Error) => {
      logger.warn('unreadable CNI record', { sandbox: sandboxId, error: err.message });
      return undefined;
    });
    return record?.result ? record.podIps : [];
  }

  /**
   * Our record of a sandbox, else libcni's cache entry for it (a pod cri-dockerd set up before
   * an in-place switch); undefined when the sandbox has no CNI attachment.
   */
  async lookup(sandboxId: string): Promise<NetworkRecord | undefined> {
    const own = await this.store.load(sandboxId);
    if (own || !this.config.cniCacheDir) return own;
    return findLibcniCache(this.config.cniCacheDir, sandboxId, POD_IFNAME);
  }

  private runtimeConf(record: NetworkRecord): Omit<RuntimeConf, 'netns'> {
    return {
      containerId: record.sandboxId,
      ifName: record.ifName,
      args: record.args,
      capabilityArgs: record.capabilityArgs,
    };
  }

  /**
   * After a failed ADD: DEL whatever the plugins did, then forget the sandbox either way. The
   * sandbox is removed with the failure, so no StopPodSandbox will come for it; a record kept
   * after a failing DEL (a configuration broken for DEL too) would only be an orphan.
   */
  private async undoFailedAdd(record: NetworkRecord, rt: RuntimeConf, partial: CniResult | undefined) {
    try {
      await delNetworkList(parseNetworkConfig(record.source, record.config), rt, partial, this.invoke);
    } catch (err) {
      logger.warn('cleanup after failed CNI ADD failed', {
        sandbox: record.sandboxId,
        error: (err as Error).message,
      });
    }
    await this.store.remove(record.sandboxId);
  }

  private pluginFailure(err: unknown, what: string, sandboxId: string): CriError {
    if (err instanceof CriError) return err;
    const msg = `sandbox ${sandboxId}: failed to ${what}: ${(err as Error).message}`;
    if (err instanceof PluginError && err.timedOut) return new CriError(status.DEADLINE_EXCEEDED, msg);
    return new CriError(status.INTERNAL, msg);
  }
}

/** The sandbox handlers' view (pod-network.ts) of a CniNetwork. */
export function cniPodNetwork(cni: CniNetwork): PodNetworkPlugin {
  return {
    networkMode: cni.sandboxNetworkMode,
    async setUp(sandbox: ContainerInspectInfo, config: PodSandboxConfig__Output) {
      await cni.setUp(sandbox.Id, sandbox.State?.Pid ?? 0, config);
    },
    async tearDown(sandbox: ContainerInspectInfo) {
      // A dead pause container has no namespace left: DEL then runs with an empty path.
      await cni.tearDown(sandbox.Id, sandbox.State?.Running ? sandbox.State.Pid : 0);
    },
    async ips(sandbox: ContainerInspectInfo): Promise<PodIps | undefined> {
      // No record: a sandbox from before the switch to CNI (or torn down); inspect answers.
      const record = await cni.lookup(sandbox.Id).catch(() => undefined);
      if (!record) return undefined;
      const [ip = '', ...rest] = record.result ? record.podIps : [];
      return { ip, additional_ips: rest.map((a) => ({ ip: a })) };
    },
  };
}

/** deps.network for `--network-plugin cni`. */
export function cniNetworkDeps(config: Config): NonNullable<Deps['network']> {
  const cni = new CniNetwork(config);
  logger.info('pod networking through CNI plugins', {
    confDir: config.cniConfDir,
    binDirs: cni.binDirs,
    podCidrs: cni.podCidrs.get(),
  });
  return { readiness: () => cni.readiness(), pod: cniPodNetwork(cni), podCidrs: cni.podCidrs };
}
