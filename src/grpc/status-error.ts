import { status } from './status-codes';
import { LocalFileError, PreconditionError, ProgramError, ValidationError } from '../errors';
import { logger } from '../logger';

/** An error that already knows its gRPC status code; everything else is mapped by toStatus below. */
export class CriError extends Error {
  constructor(
    readonly code: status,
    message: string,
    /** The engine's HTTP status when this came from a Docker call. */
    readonly dockerStatus?: number,
  ) {
    super(message);
    this.name = 'CriError';
  }
}

export const invalidArgument = (msg: string): CriError => new CriError(status.INVALID_ARGUMENT, msg);
export const notFound = (msg: string): CriError => new CriError(status.NOT_FOUND, msg);
export const failedPrecondition = (msg: string): CriError => new CriError(status.FAILED_PRECONDITION, msg);
export const deadlineExceeded = (msg: string): CriError => new CriError(status.DEADLINE_EXCEEDED, msg);
export const unimplemented = (msg: string): CriError => new CriError(status.UNIMPLEMENTED, msg);
export const unavailable = (msg: string): CriError => new CriError(status.UNAVAILABLE, msg);

/** Local errnos that mean the node's state stops the call (a permission, a full or read-only disk). */
const NODE_STATE_ERRNOS = new Set([
  'EACCES',
  'EPERM',
  'EROFS',
  'ENOSPC',
  'EDQUOT',
  'ELOOP',
  'EEXIST',
  'EISDIR',
]);

/**
 * The one place that maps a failure's kind to its gRPC code. CriErrors (EngineError among them)
 * already carry theirs; the kinds of src/errors.ts get theirs here; anything else is a failure we
 * did not name, so INTERNAL: no errno is read as the engine's, wherever it came from. Undefined for
 * an error of no known kind.
 */
export function classify(err: unknown): CriError | undefined {
  if (err instanceof CriError) return err;
  if (err instanceof ValidationError) return new CriError(status.INVALID_ARGUMENT, err.message);
  if (err instanceof PreconditionError) return new CriError(status.FAILED_PRECONDITION, err.message);
  if (err instanceof LocalFileError) {
    if (err.errno === 'ENOENT' || err.errno === 'ENOTDIR') return new CriError(status.NOT_FOUND, err.message);
    if (err.errno && NODE_STATE_ERRNOS.has(err.errno))
      return new CriError(status.FAILED_PRECONDITION, err.message);
    return new CriError(status.INTERNAL, err.message);
  }
  if (err instanceof ProgramError) {
    return new CriError(err.errno === 'ENOENT' ? status.FAILED_PRECONDITION : status.INTERNAL, err.message);
  }
  return undefined;
}

/** Every failure as the status a client gets; failures of no known kind are bugs of ours, logged. */
export function toStatus(err: unknown): CriError {
  const known = classify(err);
  if (known) return known;
  // A bug of ours, not an engine answer: keep the stack in the log.
  logger.error('handler failed', { error: (err as Error)?.stack ?? String(err) });
  return new CriError(status.INTERNAL, (err as Error)?.message ?? String(err));
}
