import { status } from '../grpc/status-codes';
import { CriError } from '../grpc/status-error';

/** What dockerode/docker-modem put on a failed call. */
interface DockerishError {
  statusCode?: number;
  code?: string;
  message?: string;
  json?: { message?: string } | null;
  reason?: string;
}

/** The engine's own words for an error, without docker-modem's "(HTTP code 404) no such container -" prefix. */
export function dockerMessage(err: unknown): string {
  const e = err as DockerishError;
  const fromJson = e?.json && typeof e.json === 'object' ? e.json.message : undefined;
  if (fromJson) return fromJson;
  const msg = e?.message ?? String(err);
  return msg.replace(/^\(HTTP code \d+\) [^-]*- /, '').trim();
}

/** Socket errors of a call to the engine: the engine is away (its socket refused, gone or reset). */
const NETWORK_DOWN = new Set(['ECONNREFUSED', 'ENOENT', 'ECONNRESET', 'EPIPE', 'EHOSTUNREACH', 'ENOTCONN']);

/**
 * A failed call to the engine, made only where one fails (DockerClient.call, the engine's stream
 * calls): so an errno here is the engine's socket's, never a local file's or program's. Its code
 * comes from the engine's answer (engineCode); the HTTP status and errno are kept for callers that
 * tell "already gone" or "not modified" from a failure.
 */
export class EngineError extends CriError {
  override readonly name = 'EngineError';
  constructor(
    code: status,
    message: string,
    dockerStatus: number | undefined,
    readonly errno: string | undefined,
  ) {
    super(code, message, dockerStatus);
  }
}

/** The engine's answer → gRPC code: the HTTP status, or how its socket failed. */
export function engineCode(err: unknown): status {
  const e = err as DockerishError;
  if (e?.code === 'DOCKER_TIMEOUT' || e?.code === 'ETIMEDOUT' || /timed? ?out/i.test(e?.code ?? '')) {
    return status.DEADLINE_EXCEEDED;
  }
  if (e?.code && NETWORK_DOWN.has(e.code)) return status.UNAVAILABLE;
  switch (e?.statusCode) {
    case 304:
      // "already started/stopped": callers that want idempotence check for this first.
      return status.FAILED_PRECONDITION;
    case 400:
      return status.INVALID_ARGUMENT;
    case 401:
    case 403:
      return status.PERMISSION_DENIED;
    case 404:
      return status.NOT_FOUND;
    case 409:
      return /already in use|already exists/i.test(dockerMessage(err))
        ? status.ALREADY_EXISTS
        : status.FAILED_PRECONDITION;
    case 429:
      return status.RESOURCE_EXHAUSTED;
    case 500:
    case 502:
    case 503:
      return status.INTERNAL;
    case 501:
      // The engine (or its storage driver, log driver, runtime) cannot do this at all.
      return status.UNIMPLEMENTED;
    default:
      return status.UNKNOWN;
  }
}

/**
 * A failed engine call as an EngineError. `context` names the object the call was about (for
 * example `container "abc"`), so that every message says which id failed.
 */
export function toCriError(err: unknown, context?: string): CriError {
  if (err instanceof CriError) return err;
  const e = err as DockerishError;
  const msg = dockerMessage(err);
  const prefix = context ? `${context}: ` : '';
  const code = engineCode(err);
  const text =
    code === status.DEADLINE_EXCEEDED
      ? `docker call timed out: ${msg}`
      : code === status.UNAVAILABLE
        ? `docker engine unreachable: ${msg}`
        : msg || (e?.statusCode === 304 ? 'not modified' : '');
  const errno = typeof e?.code === 'string' ? e.code : undefined;
  return new EngineError(code, `${prefix}${text}`, e?.statusCode, errno);
}

/** The engine's socket failed (refused, gone, reset): the engine is away, whatever the call. */
export function isEngineUnreachable(err: unknown): boolean {
  return err instanceof EngineError && err.code === status.UNAVAILABLE;
}

function httpStatus(err: unknown): number | undefined {
  return err instanceof CriError ? err.dockerStatus : (err as DockerishError)?.statusCode;
}

export function isNotFound(err: unknown): boolean {
  return httpStatus(err) === 404 || (err instanceof CriError && err.code === status.NOT_FOUND);
}

/** Docker's 501: the engine cannot do this for that object (e.g. read back a `none` log driver). */
export function isNotImplemented(err: unknown): boolean {
  return httpStatus(err) === 501;
}

export function isNotModified(err: unknown): boolean {
  return httpStatus(err) === 304;
}

export function isConflict(err: unknown): boolean {
  return httpStatus(err) === 409;
}

/**
 * Pull failures arrive as text, either from the HTTP answer or inside the progress stream; their
 * words are all there is to tell a missing image from a refused registry or a bad password.
 */
export function pullErrorCode(message: string): status {
  // A registry's rate limit (Docker Hub's "toomanyrequests: You have reached your pull rate limit").
  if (/toomanyrequests|too many requests|rate limit/i.test(message)) return status.RESOURCE_EXHAUSTED;
  if (
    /unauthorized|authentication required|no basic auth credentials|incorrect username or password/i.test(
      message,
    )
  ) {
    return status.UNAUTHENTICATED;
  }
  if (
    /manifest unknown|not found|does not exist|repository name not known|name unknown|no such image/i.test(
      message,
    )
  ) {
    return status.NOT_FOUND;
  }
  if (/denied/i.test(message)) return status.PERMISSION_DENIED;
  if (
    /connection refused|no such host|i\/o timeout|dial tcp|network is unreachable|connection reset|timeout|EOF/i.test(
      message,
    )
  ) {
    return status.UNAVAILABLE;
  }
  if (/invalid reference format|invalid tag|invalid digest/i.test(message)) return status.INVALID_ARGUMENT;
  return status.UNKNOWN;
}
