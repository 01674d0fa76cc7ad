import * as protobuf from 'protobufjs';
import type { status } from '../../src/grpc/status-codes';
import { defaultConfig, type Config } from '../../src/config';
import type { Deps } from '../../src/deps';
import { ContainerIndex } from '../../src/docker/container-index';
import { IndexedEngine } from '../../src/docker/engine-index';
import { EngineCapabilityProbe } from '../../src/docker/capabilities';
import { EngineFacts } from '../../src/docker/engine-facts';
import { ImageStoreUsage } from '../../src/image/image-store-usage';
import { EngineInfoCache } from '../../src/docker/engine-info-cache';
import { ContainerStatusCache, SandboxStatusCache } from '../../src/state/container-status-cache';
import { classify } from '../../src/grpc/status-error';
import type { CallContext } from '../../src/grpc/handler';
import { protoPath } from '../../src/grpc/proto';
import type { LogManager } from '../../src/logs/log-manager';
import { setLogLevel } from '../../src/logger';
import { PodResourcesStore } from '../../src/state/pod-resources-store';
import type { StatsCollector } from '../../src/stats/collector';
import { FakeEngine } from './fake-engine';

/** What handlers asked of the log manager: reopened files, files prepared at start, drains awaited. */
export interface FakeLogs {
  reopened: Array<{ id: string; path: string }>;
  prepared: Array<{ id: string; path: string }>;
  awaited: string[];
  reopen(id: string, path: string): Promise<void>;
  prepare(id: string, path: string): Promise<void>;
  awaitComplete(ids: Iterable<string>, deadline: number): Promise<void>;
}

export interface FakeWorld {
  deps: Deps;
  /** The in-memory engine behind deps.engine (deps.engine also keeps the index current). */
  fake: FakeEngine;
  index: ContainerIndex;
  logs: FakeLogs;
}

/**
 * Deps for handler tests: the fake engine behind the same index-keeping wrapper as in app.ts, and
 * the real ContainerIndex reading its list from the fake. Handlers reach Docker only through `deps.engine`.
 */
export function fakeDeps(config: Partial<Config> = {}): FakeWorld {
  // Handlers log every step at info; a table of a hundred cases would drown the failures.
  setLogLevel('error');
  const fake = new FakeEngine();
  // The index's inspects are recorded as `index.inspect`, apart from the handlers' own. No periodic
  // reconciliation: its lists would count among a handler test's `container.list` calls.
  const index = new ContainerIndex(
    {
      listContainers: (filters) => fake.listContainers(filters),
      inspectContainer: (id) => fake.indexInspect(id),
      containerEvents: () => fake.containerEvents(),
    },
    { reconcileMs: 0 },
  );
  const engine = new IndexedEngine(fake, index);
  const logs: FakeLogs = {
    reopened: [],
    prepared: [],
    awaited: [],
    async prepare(id, path) {
      this.prepared.push({ id, path });
    },
    async awaitComplete(ids) {
      this.awaited.push(...ids);
    },
    async reopen(id, path) {
      this.reopened.push({ id, path });
    },
  };
  const stats = new Proxy(
    {},
    {
      get: (_t, prop) => () => {
        throw new Error(`stats.${String(prop)} is not part of the fake world`);
      },
    },
  ) as StatsCollector;
  const engineInfo = new EngineInfoCache(engine, index, 1000);
  const fullConfig = { ...defaultConfig({}), pauseSourceDir: '/nonexistent/pause-source', ...config };
  const deps: Deps = {
    config: fullConfig,
    engine,
    engineFacts: new EngineFacts(engine),
    engineInfo,
    imageStore: new ImageStoreUsage(engineInfo),
    statusCache: new ContainerStatusCache(index),
    sandboxStatusCache: new SandboxStatusCache(index),
    capabilities: new EngineCapabilityProbe(engine),
    index,
    podLocks: new SerialPerKey() as unknown as Deps['podLocks'],
    stats,
    logs: logs as unknown as LogManager,
    podResources: new PodResourcesStore(fullConfig.rootDirectory),
    pauseImageTries: new Map(),
  };
  return { deps, fake, index, logs };
}

/**
 * What podLocks must do for a handler called directly: run work one at a time per key. Defined
 * here so that the fake world does not depend on where the real mutex lives.
 */
class SerialPerKey {
  private tails = new Map<string, Promise<unknown>>();
  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const mine = (this.tails.get(key) ?? Promise.resolve()).then(fn, fn);
    this.tails.set(
      key,
      mine.catch(() => undefined),
    );
    return mine;
  }
  size(): number {
    return this.tails.size;
  }
}

let root: protobuf.Root | undefined;

/**
 * A request as the gRPC server hands it to a handler: `fields` put through the CRI proto with the
 * server's options, so absent fields carry their defaults and unknown ones fail loudly.
 */
export function criRequest<T>(type: string, fields: Record<string, unknown> = {}): T {
  if (!root) {
    root = new protobuf.Root().loadSync(protoPath(), { keepCase: true });
    root.resolveAll();
  }
  const t = root.lookupType(`runtime.v1.${type}`);
  return t.toObject(t.fromObject(fields), {
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  }) as T;
}

/** A call context that is never cancelled (or is, through the returned controller). */
export function callContext(): CallContext & { abort: AbortController } {
  const abort = new AbortController();
  return { signal: abort.signal, abort };
}

/** The gRPC code and message a handler's promise failed with. */
export async function failure(p: Promise<unknown>): Promise<{ code: status; message: string }> {
  try {
    await p;
  } catch (err) {
    // As the client would see it: the kinds of src/errors.ts mapped by the boundary's one place.
    const known = classify(err);
    if (known) return { code: known.code, message: known.message };
    throw err;
  }
  throw new Error('expected the call to fail');
}

export { FakeEngine };
