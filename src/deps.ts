import type { Config } from './config';
import type { EngineCapabilityProbe } from './docker/capabilities';
import type { ContainerIndex } from './docker/container-index';
import type { KeyedMutex } from './concurrency/keyed-mutex';
import type { Engine } from './docker/engine';
import type { EngineFacts } from './docker/engine-facts';
import type { EngineInfoCache } from './docker/engine-info-cache';
import type { ImageStoreUsage } from './image/image-store-usage';
import type { ContainerStatusCache, SandboxStatusCache } from './state/container-status-cache';
import type { EventHub } from './runtime/container-events';
import type { PodNetworkPlugin } from './network/pod-network';
import type { StatsCollector } from './stats/collector';
import type { LogManager } from './logs/log-manager';
import type { StreamingServer } from './streaming/server';
import type { PodResourcesStore } from './state/pod-resources-store';

/**
 * What handlers share. Built once in app.ts; every field is either configuration or a cache that can
 * be rebuilt from Docker, never state of its own.
 */
export interface Deps {
  config: Config;
  /**
   * What handlers ask of Docker; its container changes keep `index` current. Handlers use only
   * this, so that they can be tested against the in-memory engine of test/support.
   */
  engine: Engine;
  /** The engine's cgroup driver and runtimes, re-read now and then. */
  engineFacts: EngineFacts;
  /** Docker's /info and the engine's liveness, kept current for Status and ImageFsInfo. */
  engineInfo: EngineInfoCache;
  /** The image store's path and usage, walked in the background for ImageFsInfo. */
  imageStore: ImageStoreUsage;
  /** PodSandboxStatus's container statuses, kept while each container's state stands still. */
  statusCache: ContainerStatusCache;
  /** PodSandboxStatus answers per sandbox state (not verbose). */
  sandboxStatusCache: SandboxStatusCache;
  /** What the engine can do (API version, read-only mount depth), detected once it answers. */
  capabilities: EngineCapabilityProbe;
  /** Every Kubernetes container and sandbox, kept current from Docker's events. */
  index: ContainerIndex;
  /**
   * Pod locks and name reservations, taken by the lock table in runtime/index.ts (never by handlers):
   * calls on one pod sandbox run one at a time, and so do creates of one name.
   */
  podLocks: KeyedMutex;
  /** Container and pod readings (cgroup files, writable-layer walks), cached per container. */
  stats: StatsCollector;
  /** The log pumps: Docker's log streams → CRI-format files at the kubelet's log paths. */
  logs: LogManager;
  /** GetContainerEvents' subscribers, made with the first stream (runtime/container-events.ts). */
  eventHub?: EventHub;
  /** The exec/attach/port-forward HTTP server whose URLs Exec, Attach and PortForward hand out. */
  streaming?: StreamingServer;
  /** Pod networking other than Docker's bridge (CNI); absent means the engine's bridge. */
  network?: {
    readiness(): Promise<{ ready: boolean; reason: string; message: string }>;
    /** Sets up and tears down a pod's own network namespace (see network/pod-network.ts). */
    pod?: PodNetworkPlugin;
    /** The node's pod CIDRs from UpdateRuntimeConfig, kept across restarts (CNI's ipRanges). */
    podCidrs?: { get(): string[]; set(cidrs: string[]): Promise<void> };
  };
  /** What UpdatePodSandboxResources recorded per pod, under the root directory. */
  podResources: PodResourcesStore;
  /** Per pause image, the pull (or offline build) under way: concurrent RunPodSandbox calls share it. */
  pauseImageTries: Map<string, Promise<string>>;
}
