import type { Writable } from 'stream';
import { errorChannelPayload, JsonObjectSplitter, parseTerminalSize, protocolVersion } from './protocol';
import { ResizeRelay, type SessionIO } from './session-io';
import { RST_STATUS } from './spdy-frames';
import type { SpdySession, SpdyStream } from './spdy-session';

/** How long the client has to open every stream it announced (the kubelet's default as well). */
export const STREAM_CREATION_TIMEOUT_MS = 30_000;

export interface WantedStreams {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

const KNOWN_TYPES = new Set(['error', 'stdin', 'stdout', 'stderr', 'resize']);

/** The stream types a client of this protocol version opens for these options. */
export function expectedStreamTypes(want: WantedStreams, version: number): string[] {
  const types = ['error'];
  if (want.stdin) types.push('stdin');
  if (want.stdout) types.push('stdout');
  if (want.stderr && !want.tty) types.push('stderr');
  if (want.tty && version >= 3) types.push('resize');
  return types;
}

/**
 * Collects the remote-command streams the client opens on a fresh SPDY connection (each typed by
 * its `streamtype` header) and presents them as a SessionIO. Rejects when they do not all arrive in
 * time or the connection dies first.
 */
export function spdySessionIO(
  session: SpdySession,
  protocol: string | undefined,
  want: WantedStreams,
  timeoutMs = STREAM_CREATION_TIMEOUT_MS,
): Promise<SessionIO> {
  const version = protocolVersion(protocol ?? 'channel.k8s.io');
  const expected = expectedStreamTypes(want, version);
  const got = new Map<string, SpdyStream>();
  const abort = new AbortController();
  const resize = new ResizeRelay();
  let finished = false;

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      session.off('stream', onStream);
      reject(
        new Error(`timed out waiting for client streams (have ${[...got.keys()].join(', ') || 'none'})`),
      );
    }, timeoutMs);
    const onClose = (): void => {
      clearTimeout(timer);
      if (!finished) abort.abort();
      reject(new Error('connection closed before the session started'));
    };
    session.once('close', onClose);

    function onStream(stream: SpdyStream): void {
      const type = stream.header('streamtype') ?? '';
      if (!KNOWN_TYPES.has(type) || got.has(type)) {
        stream.cancel(RST_STATUS.PROTOCOL_ERROR);
        return;
      }
      got.set(type, stream);
      if (type === 'resize') {
        const splitter = new JsonObjectSplitter();
        stream.setEncoding('utf8');
        stream.on('data', (text: string) => {
          for (const obj of splitter.push(text)) {
            const size = parseTerminalSize(obj);
            if (size) resize.emit(size);
          }
        });
      } else if (type !== 'stdin') {
        // Output and error streams carry nothing from the client; drain so their FIN is seen.
        stream.resume();
      }
      if (expected.every((t) => got.has(t))) {
        clearTimeout(timer);
        session.off('stream', onStream);
        resolve(makeIO());
      }
    }
    session.on('stream', onStream);

    function makeIO(): SessionIO {
      session.off('close', onClose);
      session.once('close', () => {
        if (!finished) abort.abort();
      });
      const stdout = got.get('stdout');
      // With a TTY, Docker merges stderr into stdout; an unexpected stderr stream stays unused.
      const stderr = want.tty ? undefined : got.get('stderr');
      const errorStream = got.get('error') as SpdyStream;
      return {
        stdin: got.get('stdin'),
        stdout,
        stderr,
        onResize: (l) => resize.on(l),
        signal: abort.signal,
        async finish(outcome) {
          if (finished) return;
          finished = true;
          await Promise.all([endOf(stdout), endOf(stderr)]);
          const payload = errorChannelPayload(outcome, version);
          if (payload) errorStream.write(payload);
          await endOf(errorStream);
          got.get('stdin')?.destroy();
          await session.close();
        },
      };
    }
  });
}

/** Ends a writable and waits until its last byte (and FIN) went out. */
export function endOf(w: Writable | undefined): Promise<void> {
  if (!w || w.writableFinished || w.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    w.once('finish', resolve);
    w.once('close', resolve);
    w.end();
  });
}
