import type { Deps } from '../deps';
import { invalidArgument } from '../grpc/status-error';
import type { CgroupDriver } from '../translate/sandbox-config';

interface EngineFacts {
  cgroupDriver: CgroupDriver;
  runtimes: string[];
  at: number;
}

/** An engine's runtimes and cgroup driver change only when it restarts; re-read them now and then. */
const TTL_MS = 30_000;
const cache = new WeakMap<Deps, EngineFacts>();

export async function engineFacts(deps: Deps, fresh = false): Promise<EngineFacts> {
  const cached = cache.get(deps);
  if (cached && !fresh && Date.now() - cached.at < TTL_MS) return cached;
  const info = (await deps.docker.call('info', 'docker engine', (d) => d.info())) as {
    CgroupDriver?: string;
    Runtimes?: Record<string, unknown>;
  };
  const facts: EngineFacts = {
    cgroupDriver: info.CgroupDriver === 'systemd' ? 'systemd' : 'cgroupfs',
    runtimes: Object.keys(info.Runtimes ?? {}),
    at: Date.now(),
  };
  cache.set(deps, facts);
  return facts;
}

/** '' is the engine's default runtime; any other name must be one the engine has. */
export async function checkRuntimeHandler(deps: Deps, handler: string): Promise<void> {
  if (!handler) return;
  let facts = await engineFacts(deps);
  // A runtime added since we last asked: ask again before refusing.
  if (!facts.runtimes.includes(handler)) facts = await engineFacts(deps, true);
  if (!facts.runtimes.includes(handler)) {
    throw invalidArgument(
      `runtime_handler "${handler}" is not a runtime of the docker engine (it has: ${facts.runtimes.join(', ') || 'none'})`,
    );
  }
}
