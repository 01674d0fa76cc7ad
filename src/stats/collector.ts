import type { Engine } from '../docker/engine';
import type { ContainerIndex, IndexChange, IndexedContainer } from '../docker/container-index';
import type { CgroupDirs } from '../translate/stats-cgroup';
import { nanoCores } from '../translate/stats-cgroup';
import type { CgroupSample, LayerSample } from '../translate/stats-cri';
import type { NetInterfaceSample } from '../translate/stats-net';
import {
  networkFromDockerStats,
  sampleFromDockerStats,
  type DockerStatsJson,
} from '../translate/stats-docker';
import { CgroupFiles, CgroupReader, parentDirs } from './cgroups';
import { LayerSampler } from './layer-sampler';
import { readNetDev } from './net-dev';
import { logger } from '../logger';

/** What one inspect told us about a running container; dropped on any state change. */
interface Tracked {
  pid: number;
  /** Undefined: its cgroup files are not visible here; Docker's stats are the fallback. */
  dirs?: CgroupDirs;
  /** Docker's HostConfig.CgroupParent: set when the kubelet gave the pod a cgroup of its own. */
  cgroupParent: string;
  /** The container's cgroup files, open while it runs. */
  files?: CgroupFiles;
  /** The pod's own cgroup files (sandboxes with a cgroup parent). */
  podFiles?: CgroupFiles;
  /** The last reading, reused for a moment (ListContainerStats and ListPodSandboxStats come together). */
  last?: CgroupSample;
}

interface CpuPoint {
  cpuNs: bigint;
  atNs: bigint;
}

/** Rates are taken over at least this long, so that two calls a moment apart give no noise. */
const MIN_RATE_WINDOW_NS = 1_000_000_000n;
/** A reading this young is answered again instead of read again. */
const REUSE_NS = 500_000_000n;
/** Docker stats calls in flight at once on the fallback path. */
const FALLBACK_CONCURRENCY = 4;

const nowNs = (): bigint => BigInt(Date.now()) * 1_000_000n;

/**
 * Container and pod readings for the stats RPCs. The first reading of a container inspects it
 * once (pid, cgroup parent, upper dir); every later one reads cgroup files only, so a
 * ListContainerStats over N containers makes no Docker call. Everything cached about a container
 * is dropped when the index reports it changed state or went away.
 */
export class StatsCollector {
  private tracked = new Map<string, Tracked>();
  private pending = new Map<string, Promise<Tracked | undefined>>();
  private generation = new Map<string, number>();
  private base = new Map<string, CpuPoint>();
  private lastRate = new Map<string, bigint>();
  private fallbackSlots = FALLBACK_CONCURRENCY;
  private fallbackWaiters: Array<() => void> = [];
  readonly layers: LayerSampler;
  private readonly onChange = (c: IndexChange): void => this.invalidate(c.id, !c.after);

  constructor(
    private readonly engine: Pick<Engine, 'inspectContainer' | 'containerStats'>,
    private readonly index: ContainerIndex,
    readonly cgroups = new CgroupReader(),
    layerIntervalMs = 60_000,
  ) {
    this.layers = new LayerSampler(layerIntervalMs);
  }

  start(): void {
    this.index.on('change', this.onChange);
    this.layers.start();
  }

  stop(): void {
    this.index.off('change', this.onChange);
    this.layers.stop();
    for (const t of this.tracked.values()) closeFiles(t);
    this.tracked.clear();
  }

  /** Entries held per container, for leak checks. */
  cachedEntries(): number {
    return (
      this.tracked.size + this.base.size + this.lastRate.size + this.generation.size + this.layers.size()
    );
  }

  private invalidate(id: string, removed: boolean): void {
    // The generation only guards an inspect in flight; with none, nothing needs remembering (a node
    // with many containers changing state would otherwise keep an entry for each).
    if (this.pending.has(id)) this.generation.set(id, (this.generation.get(id) ?? 0) + 1);
    else this.generation.delete(id);
    const t = this.tracked.get(id);
    if (t) closeFiles(t);
    this.tracked.delete(id);
    for (const key of [id, `pod:${id}`]) {
      this.base.delete(key);
      this.lastRate.delete(key);
    }
    if (removed) {
      this.generation.delete(id);
      this.layers.forget(id);
    }
  }

  private async track(id: string): Promise<Tracked | undefined> {
    const known = this.tracked.get(id);
    if (known) return known;
    let p = this.pending.get(id);
    if (!p) {
      // A change that lands during the inspect makes it stale; one more look settles it.
      p = this.inspect(id)
        .then((t) => t ?? (this.index.get(id)?.state === 'running' ? this.inspect(id) : undefined))
        .finally(() => this.pending.delete(id));
      this.pending.set(id, p);
    }
    return p;
  }

  private async inspect(id: string): Promise<Tracked | undefined> {
    const gen = this.generation.get(id) ?? 0;
    let info;
    try {
      info = await this.engine.inspectContainer(id);
    } catch (err) {
      logger.debug('stats inspect failed', { id, error: (err as Error).message });
      return undefined;
    }
    const upper = (info.GraphDriver?.Data as Record<string, string> | undefined)?.UpperDir;
    // The writable layer outlives the process, so follow it whenever the container exists.
    if (upper && this.index.get(id)) this.layers.track(id, upper);
    const pid = info.State?.Running ? (info.State.Pid ?? 0) : 0;
    if (!(pid > 0)) return undefined;
    const t: Tracked = {
      pid,
      dirs: await this.cgroups.locate(pid),
      cgroupParent: info.HostConfig?.CgroupParent ?? '',
    };
    // A change arrived while we looked: what we saw may already be stale. A container removed
    // meanwhile has left the index (its generation entry went with it): nothing to keep open then.
    if ((this.generation.get(id) ?? 0) !== gen || !this.index.get(id)) return undefined;
    this.tracked.set(id, t);
    return t;
  }

  /** The CPU rate since the base point, moving the base forward once the window is long enough. */
  private rate(id: string, s: CgroupSample): bigint | undefined {
    if (s.cpuNs === undefined) return undefined;
    const cur = { cpuNs: s.cpuNs, atNs: s.atNs };
    const base = this.base.get(id);
    if (!base || cur.cpuNs < base.cpuNs) {
      this.base.set(id, cur);
      return undefined;
    }
    if (cur.atNs - base.atNs < MIN_RATE_WINDOW_NS) return this.lastRate.get(id);
    const r = nanoCores(base, cur);
    this.base.set(id, cur);
    if (r !== undefined) this.lastRate.set(id, r);
    return r;
  }

  private async fallback(id: string): Promise<DockerStatsJson | undefined> {
    if (this.fallbackSlots === 0) await new Promise<void>((r) => this.fallbackWaiters.push(r));
    else this.fallbackSlots--;
    try {
      return (await this.engine.containerStats(id)) as unknown as DockerStatsJson;
    } catch (err) {
      logger.debug('docker stats fallback failed', { id, error: (err as Error).message });
      return undefined;
    } finally {
      const next = this.fallbackWaiters.shift();
      if (next) next();
      else this.fallbackSlots++;
    }
  }

  /** One reading of a container's cgroup; undefined when it is not running. */
  async sample(c: IndexedContainer): Promise<CgroupSample | undefined> {
    if (c.state !== 'running' && c.state !== 'paused') {
      // Still start following its writable layer: stats of exited containers report it too.
      if (!this.layers.has(c.id)) void this.track(c.id);
      return undefined;
    }
    const t = await this.track(c.id);
    if (!t) return undefined;
    const at = nowNs();
    if (t.last && at - t.last.atNs < REUSE_NS) return t.last;
    let s: CgroupSample | undefined;
    if (t.dirs) {
      t.files ??= new CgroupFiles(t.dirs);
      s = t.files.read(at);
      if (!s) {
        // The cgroup went away under us (the container is stopping): forget it, report nothing.
        this.invalidate(c.id, false);
        return undefined;
      }
    } else {
      const json = await this.fallback(c.id);
      if (!json) return undefined;
      s = sampleFromDockerStats(json, nowNs());
    }
    s.nanoCores = this.rate(c.id, s);
    // Not kept if the container changed meanwhile (the entry was dropped while Docker answered).
    if (this.tracked.get(c.id) === t) t.last = s;
    return s;
  }

  layer(id: string): LayerSample | undefined {
    return this.layers.get(id);
  }

  /**
   * A pod's own cgroup when the kubelet gave it one (cgroup parent set): the parent of the pause
   * container's cgroup. Undefined otherwise; the caller then sums the containers.
   */
  async podSample(sandbox: IndexedContainer): Promise<CgroupSample | undefined> {
    if (sandbox.state !== 'running') return undefined;
    const t = await this.track(sandbox.id);
    if (!t?.dirs || !t.cgroupParent) return undefined;
    const key = `pod:${sandbox.id}`;
    t.podFiles ??= new CgroupFiles(parentDirs(t.dirs));
    const s = t.podFiles.read(nowNs());
    if (s) s.nanoCores = this.rate(key, s);
    return s;
  }

  /** The network interfaces of a pod, seen from its pause process. */
  async network(sandbox: IndexedContainer): Promise<NetInterfaceSample[] | undefined> {
    if (sandbox.state !== 'running') return undefined;
    const t = await this.track(sandbox.id);
    if (!t) return undefined;
    if (t.dirs) return readNetDev(t.pid);
    const json = await this.fallback(sandbox.id);
    return json ? networkFromDockerStats(json) : undefined;
  }
}

function closeFiles(t: Tracked): void {
  t.files?.close();
  t.podFiles?.close();
}
