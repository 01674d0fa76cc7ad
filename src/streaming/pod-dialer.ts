import { spawn } from 'child_process';
import type { Readable, Writable } from 'stream';
import { isPackagedExecutable } from '../sea';

/**
 * The relay that runs inside the pod's network namespace: connects to 127.0.0.1:`port` and copies
 * stdin → socket and socket → stdout. Connection errors go to stderr with exit code 1. Writes to a
 * pipe are synchronous on Linux, so exiting on 'close' loses nothing. One source for both ways it
 * runs (see relayCommand).
 */
const RELAY_BODY = [
  "const net = require('net');",
  'const s = net.connect(port, "127.0.0.1");',
  's.on("error", (e) => { process.stderr.write(e.message); process.exit(1); });',
  'process.stdin.pipe(s);',
  's.pipe(process.stdout);',
  's.on("close", () => process.exit(0));',
].join('\n');

/**
 * The hidden first argument that makes docker-cri's single executable the relay (main.ts): a single
 * executable runs its own script whatever its arguments, so it has no `-e`.
 */
export const PORT_RELAY_FLAG = '--port-forward-relay';

/** The relay in this process (docker-cri started with PORT_RELAY_FLAG). */
export function runPortRelay(port: string): void {
  // RELAY_BODY is our own constant, the same text the `node -e` form runs.
  new Function('require', 'port', RELAY_BODY)(require, Number(port));
}

/**
 * How the relay is started inside the namespace: the packaged executable with PORT_RELAY_FLAG, or
 * node (dist/, tests) with the relay as an `-e` script, which starts in half the time.
 */
export function relayCommand(port: number, packaged: boolean, execPath: string = process.execPath): string[] {
  return packaged
    ? [execPath, PORT_RELAY_FLAG, String(port)]
    : [execPath, '-e', `(function (port) {\n${RELAY_BODY}\n})(Number(process.argv[1]))`, String(port)];
}

export interface PodConnection {
  /** Bytes for the port. Ending it half-closes the connection. */
  input: Writable;
  /** Bytes from the port; ends when the connection does. */
  output: Readable;
  /** Resolves when the relay is gone; `error` says why the connection failed, if it did. */
  done: Promise<{ error?: string }>;
  close(): void;
}

/**
 * Opens a TCP connection to localhost:PORT as seen from inside the network namespace of process
 * `pid` (the pod's pause container). The pause image has no tools, so the relay is this very Node
 * program started by nsenter in that namespace; nothing else is needed on the host or in the pod, and
 * ports bound only to the pod's 127.0.0.1 are reachable, as `kubectl port-forward` promises.
 */
export function dialPod(pid: number, port: number): PodConnection {
  const child = spawn('nsenter', ['-t', String(pid), '-n', ...relayCommand(port, isPackagedExecutable())], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    if (stderr.length < 4096) stderr += d;
  });
  // A client that hangs up early makes writes to the relay fail; the end is reported through `done`.
  child.stdin.on('error', () => undefined);
  const done = new Promise<{ error?: string }>((resolve) => {
    child.once('error', (err) => resolve({ error: `cannot start nsenter: ${err.message}` }));
    child.once('close', (code, signal) => {
      if (code === 0 || signal === 'SIGTERM') resolve({});
      else resolve({ error: stderr.trim() || `relay exited with ${code ?? signal}` });
    });
  });
  return {
    input: child.stdin,
    output: child.stdout,
    done,
    close: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    },
  };
}
