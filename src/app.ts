import type { Config } from './config';
import { DockerClient } from './docker/client';
import { EngineCapabilityProbe } from './docker/capabilities';
import { ContainerIndex } from './docker/container-index';
import { KeyedMutex } from './concurrency/keyed-mutex';
import { DockerEngine } from './docker/docker-engine';
import { IndexedEngine } from './docker/engine-index';
import { EngineFacts } from './docker/engine-facts';
import { EngineInfoCache } from './docker/engine-info-cache';
import { ImageStoreUsage } from './image/image-store-usage';
import { ContainerStatusCache, SandboxStatusCache } from './state/container-status-cache';
import { detectOomScorePolicy } from './host/oom-score';
import { StatsCollector } from './stats/collector';
import { observeDocker, observeIndex, startMetricsServer, type MetricsServer } from './metrics';
import { closeEventStreams } from './runtime/container-events';
import { LogManager } from './logs/log-manager';
import { PodResourcesStore } from './state/pod-resources-store';
import type { Deps } from './deps';
import { CriServer } from './server';
import { runtimeHandlers } from './runtime';
import { imageHandlers } from './image';
import { logger, setLogLevel } from './logger';
import { cniNetworkDeps } from './network/cni-network';
import { splitPodCidrs } from './network/cni/pod-cidr';
import { StreamingServer } from './streaming/server';

/** A running docker-cri: the gRPC server plus everything it owns, stopped in reverse order. */
export interface App {
  deps: Deps;
  /** The raw engine client: for metrics and for tests that look at Docker itself; handlers never see it. */
  docker: DockerClient;
  server: CriServer;
  /** The Prometheus endpoint, when --metrics-bind-addr is given. */
  metrics?: MetricsServer;
  stop(graceMs?: number): Promise<void>;
}

/** Internal periods that are no flag of docker-cri's; tests shorten them. */
export interface AppTuning {
  /** How often each container's writable layer is walked while stats are asked for (default 60 s). */
  layerIntervalMs?: number;
  /** How often the container index is compared with a list of Docker's (default 10 s). */
  indexReconcileMs?: number;
  /** The first retry of a failed index re-read (default 500 ms, doubling up to 8 s). */
  indexRetryBaseMs?: number;
}

export async function startApp(config: Config, tuning: AppTuning = {}): Promise<App> {
  setLogLevel(config.logLevel);
  // Once, early: on hosts that refuse negative values this logs the one warning about clamping.
  detectOomScorePolicy();
  const docker = new DockerClient(config.dockerEndpoint, config.dockerCallTimeoutSeconds * 1000);
  const dockerEngine = new DockerEngine(docker);
  const index = new ContainerIndex(dockerEngine, {
    reconcileMs: tuning.indexReconcileMs,
    retryBaseMs: tuning.indexRetryBaseMs,
  });
  const engine = new IndexedEngine(dockerEngine, index);
  const stats = new StatsCollector(engine, index, undefined, tuning.layerIntervalMs);
  observeDocker(docker);
  const unobserveIndex = observeIndex(index);
  // First, so that a bad or taken address fails the start before anything else is running.
  const metricsServer = config.metricsBindAddr ? await startMetricsServer(config.metricsBindAddr) : undefined;
  const logs = new LogManager(engine, index, { rootDirectory: config.rootDirectory });
  const capabilities = new EngineCapabilityProbe(engine);
  // Every reconnect of the events stream may be a restarted, even upgraded, engine.
  index.on('resync', () => capabilities.forget());
  // How long Status waits for a ping before calling the runtime not ready.
  const engineInfo = new EngineInfoCache(engine, index, 3000);
  const deps: Deps = {
    config,
    engine,
    engineFacts: new EngineFacts(engine),
    engineInfo,
    imageStore: new ImageStoreUsage(engineInfo),
    statusCache: new ContainerStatusCache(index),
    sandboxStatusCache: new SandboxStatusCache(index),
    capabilities,
    index,
    podLocks: new KeyedMutex(),
    stats,
    logs,
    podResources: new PodResourcesStore(config.rootDirectory),
    pauseImageTries: new Map(),
  };
  if (config.networkPlugin === 'cni') {
    deps.network = cniNetworkDeps(config);
    // cri-dockerd's --pod-cidr: the CIDR plugins get until the kubelet sends one (which then wins).
    const podCidrs = deps.network.podCidrs;
    if (config.podCidr !== '' && podCidrs && podCidrs.get().length === 0) {
      await podCidrs.set(splitPodCidrs(config.podCidr));
    }
  }
  const streaming = new StreamingServer(config.streamingBindAddr, engine);
  deps.streaming = streaming;
  const server = new CriServer(config.containerRuntimeEndpoint, runtimeHandlers(deps), imageHandlers(deps));
  try {
    await docker.ping(3000);
    await capabilities.get();
  } catch (err) {
    logger.warn('docker engine does not answer yet; Status reports RuntimeReady=false until it does', {
      endpoint: config.dockerEndpoint,
      error: (err as Error).message,
    });
  }
  // The index retries by itself while the engine is away; answer only once it has had its first try.
  await index.start();
  stats.start();
  logs.start();
  deps.imageStore.prime();
  await streaming.start();
  await server.start();
  return {
    deps,
    docker,
    server,
    metrics: metricsServer,
    async stop(graceMs = 10_000) {
      // Event streams last as long as their client; the server would wait on them for its whole grace.
      closeEventStreams(deps);
      await server.stop(graceMs);
      await streaming.stop();
      // Before the index: pumps write out everything they have read, then close their files.
      await logs.stop();
      index.stop();
      stats.stop();
      unobserveIndex();
      await metricsServer?.close();
    },
  };
}
