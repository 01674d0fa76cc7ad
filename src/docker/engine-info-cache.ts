import type { ContainerIndex } from './container-index';
import type { Engine, EngineInfo } from './engine';
import { dockerMessage } from './errors';

export type { EngineInfo };

/** /info changes only when dockerd is reconfigured and restarted: refreshed in the background. */
const INFO_MAX_AGE_MS = 60_000;
/** A successful ping is trusted this long while the events stream stays open. */
const PING_FRESH_MS = 10_000;
/** After this, a call still answers from the last ping but starts the next one. */
const PING_RENEW_MS = 2_000;

export type Liveness = { ok: true } | { ok: false; error: string };

/**
 * Engine facts kept current for the periodic calls (the kubelet's Status every 5 s, ImageFsInfo
 * every 10 s), so that they answer from memory instead of waiting on /info, which makes dockerd
 * count containers and images each time. Liveness is the index's events stream (it ends at once
 * when dockerd goes away) plus a ping at most PING_FRESH_MS old (a hung dockerd keeps its
 * sockets open); while either is in doubt the call waits on a fresh ping.
 */
export class EngineInfoCache {
  private info: { value: EngineInfo; at: number } | undefined;
  private infoRunning: Promise<EngineInfo> | undefined;
  private lastPing: { ok: boolean; at: number } | undefined;
  private pingRunning: Promise<Liveness> | undefined;

  constructor(
    private readonly engine: Pick<Engine, 'ping' | 'info'>,
    private readonly index: Pick<ContainerIndex, 'isConnected'> | undefined,
    private readonly timeoutMs: number,
  ) {}

  /** Whether the engine answers, from state kept current when it can be trusted. */
  async liveness(): Promise<Liveness> {
    const age = this.lastPing ? Date.now() - this.lastPing.at : Infinity;
    if (this.lastPing?.ok && age < PING_FRESH_MS && this.index?.isConnected()) {
      // After this answer: building the ping's request would otherwise delay it.
      if (age > PING_RENEW_MS) setImmediate(() => void this.ping());
      return { ok: true };
    }
    return this.ping();
  }

  private ping(): Promise<Liveness> {
    this.pingRunning ??= this.engine
      .ping(this.timeoutMs)
      .then(
        (): Liveness => {
          this.lastPing = { ok: true, at: Date.now() };
          return { ok: true };
        },
        (err: unknown): Liveness => {
          this.lastPing = { ok: false, at: Date.now() };
          // After an outage /info may have changed (a restarted dockerd): read it again.
          this.info = undefined;
          return { ok: false, error: dockerMessage(err) };
        },
      )
      .finally(() => {
        this.pingRunning = undefined;
      });
    return this.pingRunning;
  }

  /** Docker's /info: the cached answer, refreshed in the background once it is a minute old. */
  async get(): Promise<EngineInfo> {
    if (this.info) {
      if (Date.now() - this.info.at > INFO_MAX_AGE_MS) {
        setImmediate(() => void this.fetch().catch(() => undefined));
      }
      return this.info.value;
    }
    return this.fetch();
  }

  private fetch(): Promise<EngineInfo> {
    this.infoRunning ??= this.engine
      .info({ timeoutMs: this.timeoutMs })
      .then((value) => {
        this.info = { value, at: Date.now() };
        return value;
      })
      .finally(() => {
        this.infoRunning = undefined;
      });
    return this.infoRunning;
  }
}
