import type { Readable } from 'stream';
import { status } from '../grpc/status-codes';
import type { Deps } from '../deps';
import type { UnaryImpl } from '../grpc/handler';
import type { PullImageRequest__Output } from '../generated/runtime/v1/PullImageRequest';
import type { PullImageResponse } from '../generated/runtime/v1/PullImageResponse';
import { CriError, deadlineExceeded, notFound } from '../grpc/status-error';
import { dockerMessage, isEngineUnreachable, pullErrorCode, toCriError } from '../docker/errors';
import { parseImageReference, pullTarget } from '../translate/image-ref';
import { registryAuth } from '../translate/image';
import { logger } from '../logger';
import { setClampedTimeout } from '../concurrency/timer';
import { findImage, validateImageRef } from './lookup';

interface PullMessage {
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
}

/**
 * Pulls through Docker and answers with the image id. The pull is cancelled when Docker reports no
 * progress for the configured deadline, so a stalled registry fails the call instead of hanging it.
 */
export function pullImage(deps: Deps): UnaryImpl<PullImageRequest__Output, PullImageResponse> {
  return async (req, ctx) => {
    const refText = validateImageRef(req.image?.image);
    const ref = parseImageReference(refText);
    const { fromImage, tag } = pullTarget(ref);
    const auth = registryAuth(req.auth, ref.registry);
    const deadlineMs = deps.config.imagePullProgressDeadlineSeconds * 1000;
    /** The registry's words decide; where they say nothing known, the engine's HTTP status may (429, 501). */
    const fail = (message: string, engineCode = status.UNKNOWN): CriError => {
      const text = `pulling image "${refText}": ${message}`;
      const code = pullErrorCode(message);
      const byStatus = engineCode !== status.INTERNAL ? engineCode : status.UNKNOWN;
      return new CriError(code === status.UNKNOWN ? byStatus : code, text);
    };

    const abort = new AbortController();
    const onCancel = (): void => abort.abort();
    ctx.signal.addEventListener('abort', onCancel);
    let stalled = false;
    let timer: NodeJS.Timeout | undefined;
    const arm = (): void => {
      clearTimeout(timer);
      timer = setClampedTimeout(() => {
        stalled = true;
        abort.abort();
      }, deadlineMs);
    };
    const noProgress = `pulling image "${refText}": no progress for ${deadlineMs / 1000} s`;
    try {
      arm();
      const stream = await deps.engine.pullImage(fromImage, tag, auth, abort.signal);
      const streamError = await consumeProgress(stream, arm);
      if (stalled) throw deadlineExceeded(noProgress);
      if (streamError) throw fail(streamError);
    } catch (err) {
      if (stalled) throw deadlineExceeded(noProgress);
      if (ctx.signal.aborted)
        throw new CriError(status.CANCELLED, `pulling image "${refText}": cancelled by the client`);
      if (err instanceof CriError) throw err;
      // A failure of the engine's pull call, classified here where it arose. The engine itself
      // away (its socket refused or gone) is no registry answer to read words from.
      const engineFailure = toCriError(err, `pulling image "${refText}"`);
      if (isEngineUnreachable(engineFailure)) throw engineFailure;
      throw fail(dockerMessage(err), engineFailure.code);
    } finally {
      clearTimeout(timer);
      ctx.signal.removeEventListener('abort', onCancel);
    }
    const pulledRef = ref.digest ? `${ref.repository}@${ref.digest}` : `${ref.repository}:${tag}`;
    const info = await findImage(deps, pulledRef);
    if (!info)
      throw notFound(
        `pulling image "${refText}": the engine reported success but has no image "${pulledRef}"`,
      );
    logger.info('image pulled', { image: refText, id: info.Id });
    return { image_ref: info.Id };
  };
}

/** Reads Docker's JSON-lines progress to its end; returns the error it reported, if any. */
function consumeProgress(stream: Readable, onProgress: () => void): Promise<string | undefined> {
  return new Promise((resolve) => {
    let buffered = '';
    let error: string | undefined;
    const take = (line: string): void => {
      if (!line.trim()) return;
      try {
        const msg = JSON.parse(line) as PullMessage;
        if (msg.error) error = msg.errorDetail?.message ?? msg.error;
      } catch {
        // a partial or foreign line; progress counts all the same
      }
    };
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      onProgress();
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        take(buffered.slice(0, nl));
        buffered = buffered.slice(nl + 1);
      }
    });
    const end = (err?: Error): void => {
      take(buffered);
      buffered = '';
      resolve(error ?? (err ? err.message : undefined));
    };
    stream.once('end', () => end());
    stream.once('error', (err: Error) => end(err));
    stream.once('close', () => end());
  });
}
