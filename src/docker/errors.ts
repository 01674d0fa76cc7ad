import { status } from '@grpc/grpc-js';
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

const NETWORK_DOWN = new Set(['ECONNREFUSED', 'ENOENT', 'ECONNRESET', 'EPIPE', 'EHOSTUNREACH', 'ENOTCONN']);

/**
 * The single mapping from Docker failures to gRPC codes. `context` names the object the call was
 * about (for example `container "abc"`), so that every message says which id failed.
 */
export function toCriError(err: unknown, context?: string): CriError {
  if (err instanceof CriError) return err;
  const e = err as DockerishError;
  const msg = dockerMessage(err);
  const prefix = context ? `${context}: ` : '';
  if (e?.code === 'DOCKER_TIMEOUT' || e?.code === 'ETIMEDOUT' || /timed? ?out/i.test(e?.code ?? '')) {
    return new CriError(status.DEADLINE_EXCEEDED, `${prefix}docker call timed out: ${msg}`);
  }
  if (e?.code && NETWORK_DOWN.has(e.code)) {
    return new CriError(status.UNAVAILABLE, `${prefix}docker engine unreachable: ${msg}`);
  }
  switch (e?.statusCode) {
    case 304:
      // "already started/stopped": callers that want idempotence check for this first.
      return new CriError(status.FAILED_PRECONDITION, `${prefix}${msg || 'not modified'}`, 304);
    case 400:
      return new CriError(status.INVALID_ARGUMENT, `${prefix}${msg}`, 400);
    case 401:
    case 403:
      return new CriError(status.PERMISSION_DENIED, `${prefix}${msg}`, e.statusCode);
    case 404:
      return new CriError(status.NOT_FOUND, `${prefix}${msg}`, 404);
    case 409:
      return /already in use|already exists/i.test(msg)
        ? new CriError(status.ALREADY_EXISTS, `${prefix}${msg}`, 409)
        : new CriError(status.FAILED_PRECONDITION, `${prefix}${msg}`, 409);
    case 500:
    case 502:
    case 503:
      return new CriError(status.INTERNAL, `${prefix}${msg}`, e.statusCode);
    default:
      return new CriError(status.UNKNOWN, `${prefix}${msg}`, e?.statusCode);
  }
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
