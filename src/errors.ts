/**
 * Failures named for where they arise. Each module throws the kind that says what failed (a request
 * field, a local file, a local program); grpc/status-error.ts's toStatus is the one place that maps
 * kinds to gRPC codes. This module imports nothing, so translation (pure) can throw these too.
 * Failures of an engine call are docker/errors.ts's EngineError, made only inside DockerClient.
 */

/** A request that fails validation; `field` is the request field it names (INVALID_ARGUMENT). */
export class ValidationError extends Error {
  override readonly name = 'ValidationError';
  constructor(
    message: string,
    readonly field = leadingField(message),
  ) {
    super(message);
  }
}

/** Messages name their field first: `config.mounts[0].host_path "x" must be ...`. */
function leadingField(message: string): string {
  return /^[\w.[\]-]+/.exec(message)?.[0] ?? '';
}

/** A valid request that the state of the node or of an object does not allow (FAILED_PRECONDITION). */
export class PreconditionError extends Error {
  override readonly name = 'PreconditionError';
}

/** What Node puts on a failed system call. */
export function errnoOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && /^E[A-Z0-9]+$/.test(code) ? code : undefined;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A local file or directory operation failed; `path` names it, `errno` says how. */
export class LocalFileError extends Error {
  override readonly name = 'LocalFileError';
  readonly errno?: string;
  constructor(
    readonly path: string,
    /** What was done, in words: `opening log file`. */
    readonly operation: string,
    cause: unknown,
  ) {
    super(`${operation} "${path}": ${messageOf(cause)}`, { cause });
    this.errno = errnoOf(cause);
  }
}

/** A local program that is missing (`errno` ENOENT) or that failed; `program` names it. */
export class ProgramError extends Error {
  override readonly name = 'ProgramError';
  readonly errno?: string;
  constructor(
    readonly program: string,
    cause: unknown,
  ) {
    const errno = errnoOf(cause);
    const stderr = String((cause as { stderr?: unknown } | undefined)?.stderr ?? '').trim();
    super(
      errno === 'ENOENT'
        ? `program "${program}" is not installed on this node (not found on PATH)`
        : `program "${program}" failed: ${stderr || messageOf(cause)}`,
      { cause },
    );
    this.errno = errno;
  }
}

/** `err` as a LocalFileError about `path` when it is a failed system call; anything else as it is. */
export function asFileError(err: unknown, path: string, operation: string): unknown {
  return errnoOf(err) && !(err instanceof LocalFileError) ? new LocalFileError(path, operation, err) : err;
}
