import { status } from './status-codes';
import { CriError, toStatus } from './status-error';
import { logger } from '../logger';
import type { StreamHandler, UnaryCall, UnaryHandler } from './server-calls';

/** Observes every finished call: metrics hook in here. */
export type CallObserver = (method: string, code: status, seconds: number) => void;
const observers: CallObserver[] = [];
export function onCallFinished(o: CallObserver): void {
  observers.push(o);
}

/** What a handler may learn about its call beyond the request. */
export interface CallContext {
  /** Aborted when the client cancels or its deadline passes. */
  signal: AbortSignal;
}

/** The ids worth logging, whichever request type carries them. */
function idsOf(req: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!req || typeof req !== 'object') return out;
  const r = req as Record<string, unknown>;
  for (const key of ['pod_sandbox_id', 'container_id']) {
    if (typeof r[key] === 'string' && r[key]) out[key] = r[key] as string;
  }
  const image = r.image as { image?: unknown } | undefined;
  if (image && typeof image.image === 'string' && image.image) out.image = image.image;
  const config = r.config as { metadata?: { name?: unknown } } | undefined;
  if (config?.metadata && typeof config.metadata.name === 'string') out.name = config.metadata.name;
  return out;
}

/**
 * Calls that change nothing. The kubelet makes them all the time (relist every second, statuses,
 * stats every 10 s): at info a node at 110 pods would write a journal line per call.
 */
const READ_ONLY = /^(List|Stream)|Status$|Stats$|^(Version|ImageFsInfo|RuntimeConfig)$/;

export function isReadOnlyMethod(method: string): boolean {
  return READ_ONLY.test(method);
}

function finish(method: string, req: unknown, started: bigint, code: status, message?: string): void {
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  // Read-only successes at debug; mutations, and failures of any call, at info or warn.
  const quiet = code === status.OK && isReadOnlyMethod(method);
  if (!quiet || logger.isDebugEnabled()) {
    const entry = { method, ...idsOf(req), durationMs: Math.round(seconds * 1e6) / 1e3, code: status[code] };
    if (quiet) logger.debug('cri call', entry);
    else if (code === status.OK) logger.info('cri call', entry);
    else if (code === status.UNIMPLEMENTED || code === status.NOT_FOUND)
      logger.info('cri call', { ...entry, error: message });
    else logger.warn('cri call', { ...entry, error: message });
  }
  for (const o of observers) o(method, code, seconds);
}

/**
 * For calls that are not unary (server streams): starts the clock; the returned function logs and
 * counts the call when it ends, once, however often it is called.
 */
export function startCall(method: string, req: unknown): (code: status, message?: string) => void {
  const started = process.hrtime.bigint();
  let done = false;
  return (code, message) => {
    if (done) return;
    done = true;
    finish(method, req, started, code, message);
  };
}

/** Re-exported: list streams and tests take it from here. */
export { toStatus };

export type UnaryImpl<Req, Res> = (req: Req, ctx: CallContext) => Promise<Res>;

/**
 * The context a unary handler gets. A class, not an object literal with closures: the kubelet makes
 * dozens of calls a second, and two closures per call (the bundle names each one, which gives it a
 * property store of its own) were a measurable part of what a steady node's collections promote.
 * The AbortController and the listener exist only once a handler reads `signal` (ExecSync,
 * PullImage, the stats lists).
 */
class UnaryContext implements CallContext {
  private abort: AbortController | undefined;
  private onCancel: (() => void) | undefined;

  constructor(private readonly call: UnaryCall<unknown>) {}

  get signal(): AbortSignal {
    if (!this.abort) {
      const abort = new AbortController();
      this.abort = abort;
      if (this.call.cancelled) abort.abort();
      else {
        this.onCancel = () => abort.abort();
        this.call.on('cancelled', this.onCancel);
      }
    }
    return this.abort.signal;
  }

  /** Nothing may abort after the answer: an AbortError (with its stack) per call for nobody to read. */
  settle(): void {
    if (this.onCancel) this.call.off('cancelled', this.onCancel);
    this.onCancel = undefined;
  }
}

/** Wraps an async handler: logging, timing, and every failure turned into a gRPC status. */
export function unary<Req, Res>(method: string, impl: UnaryImpl<Req, Res>): UnaryHandler<Req, Res> {
  return (call, callback) => {
    const started = process.hrtime.bigint();
    const ctx = new UnaryContext(call);
    let done: Promise<Res>;
    try {
      done = impl(call.request, ctx);
    } catch (err) {
      done = Promise.reject(err);
    }
    done.then(
      (res) => {
        ctx.settle();
        finish(method, call.request, started, status.OK);
        callback(null, res);
      },
      (err: unknown) => {
        ctx.settle();
        const e = toStatus(err);
        finish(method, call.request, started, e.code, e.message);
        callback({ code: e.code, details: e.message });
      },
    );
  };
}

export function unimplementedUnary(method: string): UnaryHandler<unknown, unknown> {
  return unary(method, async () => {
    throw new CriError(status.UNIMPLEMENTED, `${method} is not implemented by docker-cri`);
  });
}

export function unimplementedStream(method: string): StreamHandler<unknown, unknown> {
  return (call) => {
    startCall(method, call.request)(status.UNIMPLEMENTED);
    call.emit('error', { code: status.UNIMPLEMENTED, details: `${method} is not implemented by docker-cri` });
  };
}
