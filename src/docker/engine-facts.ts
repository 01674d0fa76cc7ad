import type { Engine } from './engine';
import { invalidArgument } from '../grpc/status-error';
import type { CgroupDriver } from '../translate/sandbox-config';

export interface EngineFactsValue {
  cgroupDriver: CgroupDriver;
  runtimes: string[];
  at: number;
}

/** An engine's runtimes and cgroup driver change only when it restarts; re-read them now and then. */
const TTL_MS = 30_000;

/** What RunPodSandbox needs to know of the engine, asked of it at most every TTL_MS. */
export class EngineFacts {
  private cached: EngineFactsValue | undefined;

  constructor(private readonly engine: Engine) {}

  async get(fresh = false): Promise<EngineFactsValue> {
    const cached = this.cached;
    if (cached && !fresh && Date.now() - cached.at < TTL_MS) return cached;
    const info = await this.engine.info();
    const facts: EngineFactsValue = {
      cgroupDriver: info.CgroupDriver === 'systemd' ? 'systemd' : 'cgroupfs',
      runtimes: Object.keys(info.Runtimes ?? {}),
      at: Date.now(),
    };
    this.cached = facts;
    return facts;
  }

  /** '' is the engine's default runtime; any other name must be one the engine has. */
  async checkRuntimeHandler(handler: string): Promise<void> {
    if (!handler) return;
    let facts = await this.get();
    // A runtime added since we last asked: ask again before refusing.
    if (!facts.runtimes.includes(handler)) facts = await this.get(true);
    if (!facts.runtimes.includes(handler)) {
      throw invalidArgument(
        `runtime_handler "${handler}" is not a runtime of the docker engine (it has: ${facts.runtimes.join(', ') || 'none'})`,
      );
    }
  }
}
