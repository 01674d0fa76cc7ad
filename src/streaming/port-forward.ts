import type { Readable, Writable } from 'stream';
import type { Engine } from '../docker/engine';
import { logger } from '../logger';
import { dialPod, type PodConnection } from './pod-dialer';
import type { PortForwardTarget } from './requests';
import { RST_STATUS } from './spdy-frames';
import type { SpdySession, SpdyStream } from './spdy-session';
import { endOf, STREAM_CREATION_TIMEOUT_MS } from './spdy-remotecommand';

/** The pause container's pid, whose network namespace is the pod's; throws a readable reason. */
export async function podPid(engine: Engine, sandboxId: string): Promise<number> {
  const info = await engine.inspectContainer(sandboxId, { context: `pod sandbox "${sandboxId}"` });
  if (!info.State.Running || !info.State.Pid) {
    throw new Error(`pod sandbox "${sandboxId}" is not running (state ${info.State.Status})`);
  }
  return info.State.Pid;
}

/**
 * Copies one client connection to and from localhost:PORT in the pod. Resolves with the reason the
 * connection failed, if it did, once both directions are done.
 */
export async function forwardOne(
  engine: Engine,
  sandboxId: string,
  port: number,
  fromClient: Readable,
  toClient: Writable,
  signal: AbortSignal,
): Promise<string | undefined> {
  let conn: PodConnection;
  try {
    conn = dialPod(await podPid(engine, sandboxId), port);
  } catch (err) {
    return describe(port, sandboxId, (err as Error).message);
  }
  const onAbort = (): void => conn.close();
  signal.addEventListener('abort', onAbort);
  fromClient.pipe(conn.input);
  conn.output.pipe(toClient, { end: false });
  const outputDone = new Promise<void>((resolve) => {
    conn.output.once('end', resolve);
    conn.output.once('close', resolve);
  });
  const { error } = await conn.done;
  await outputDone;
  fromClient.unpipe(conn.input);
  // Whatever the client still sends has nowhere to go; drop it rather than stall the connection.
  fromClient.resume();
  signal.removeEventListener('abort', onAbort);
  return error ? describe(port, sandboxId, error) : undefined;
}

function describe(port: number, sandboxId: string, reason: string): string {
  return `error forwarding port ${port} to pod ${sandboxId}: ${reason}`;
}

interface Pair {
  error?: SpdyStream;
  data?: SpdyStream;
  timer: NodeJS.Timeout;
}

/**
 * SPDY port-forward (portforward.k8s.io): for every connection the client opens an `error` and a
 * `data` stream carrying the same `requestid` and the `port`. Each pair is served on its own, so
 * several ports and connections run at once over one session, which lasts until the client closes.
 */
export function serveSpdyPortForward(engine: Engine, target: PortForwardTarget, session: SpdySession): void {
  const pairs = new Map<string, Pair>();
  const abort = new AbortController();
  session.once('close', () => {
    abort.abort();
    for (const p of pairs.values()) clearTimeout(p.timer);
    pairs.clear();
  });
  session.on('stream', (stream: SpdyStream) => {
    const type = stream.header('streamtype');
    const requestId = stream.header('requestid') ?? '';
    if ((type !== 'error' && type !== 'data') || requestId === '') {
      stream.cancel(RST_STATUS.PROTOCOL_ERROR);
      return;
    }
    let pair = pairs.get(requestId);
    if (!pair) {
      pair = {
        timer: setTimeout(() => {
          pairs.delete(requestId);
          pair?.error?.cancel();
          pair?.data?.cancel();
        }, STREAM_CREATION_TIMEOUT_MS),
      };
      pairs.set(requestId, pair);
    }
    if (pair[type]) {
      stream.cancel(RST_STATUS.PROTOCOL_ERROR);
      return;
    }
    pair[type] = stream;
    if (type === 'error') stream.resume();
    if (pair.error && pair.data) {
      clearTimeout(pair.timer);
      pairs.delete(requestId);
      void servePair(engine, target, pair.error, pair.data, abort.signal);
    }
  });
}

async function servePair(
  engine: Engine,
  target: PortForwardTarget,
  errorStream: SpdyStream,
  data: SpdyStream,
  signal: AbortSignal,
): Promise<void> {
  const portText = data.header('port') ?? '';
  const port = Number(portText);
  let failure: string | undefined;
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535) {
    failure = `invalid port "${portText}"`;
    data.resume();
  } else {
    failure = await forwardOne(engine, target.sandboxId, port, data, data, signal);
  }
  if (failure) {
    logger.info('port-forward connection failed', {
      sandbox: target.sandboxId,
      port: portText,
      error: failure,
    });
    errorStream.write(failure);
  }
  await Promise.all([endOf(data), endOf(errorStream)]);
}
