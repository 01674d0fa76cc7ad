import type { Duplex, Writable } from 'stream';
import { DockerDemuxer } from './docker-demux';
import type { SessionIO } from './session-io';

/**
 * Joins a hijacked Docker exec/attach connection to a client session: client stdin → Docker (its
 * end half-closes the connection, which closes the process's stdin), Docker output → stdout/stderr
 * (demultiplexed unless a TTY merged them), with backpressure both ways. Resolves when Docker ends
 * the output (the process exited) or the client went away.
 */
export function wireDockerStream(sock: Duplex, tty: boolean, io: SessionIO): Promise<'ended' | 'aborted'> {
  const stdin = io.stdin;
  if (stdin) {
    stdin.on('data', (d: Buffer) => {
      if (!sock.write(d)) {
        stdin.pause();
        sock.once('drain', () => stdin.resume());
      }
    });
    stdin.once('end', () => {
      if (!sock.destroyed) sock.end();
    });
  }
  const demux = tty ? undefined : new DockerDemuxer();
  return new Promise((resolve) => {
    let settled = false;
    const settle = (how: 'ended' | 'aborted'): void => {
      if (settled) return;
      settled = true;
      io.signal.removeEventListener('abort', onAbort);
      resolve(how);
    };
    const onAbort = (): void => {
      sock.destroy();
      settle('aborted');
    };
    if (io.signal.aborted) return onAbort();
    io.signal.addEventListener('abort', onAbort);
    sock.on('data', (chunk: Buffer) => {
      const parts = demux ? demux.push(chunk) : [{ stream: 'stdout' as const, data: chunk }];
      const blocked = new Set<Writable>();
      for (const p of parts) {
        const target = p.stream === 'stderr' ? io.stderr : io.stdout;
        if (target && !target.write(p.data)) blocked.add(target);
      }
      if (blocked.size > 0) {
        sock.pause();
        let waiting = blocked.size;
        for (const w of blocked) {
          w.once('drain', () => {
            if (--waiting === 0) sock.resume();
          });
        }
      }
    });
    sock.once('end', () => settle('ended'));
    sock.once('close', () => settle('ended'));
    sock.on('error', () => settle('ended'));
  });
}
