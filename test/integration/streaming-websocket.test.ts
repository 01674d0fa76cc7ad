import crypto from 'crypto';
import { execFile } from 'child_process';
import WebSocket from 'ws';
import { startShim, type TestShim } from '../support/shim';
import { StreamingFixtures } from './streaming-fixtures';

jest.setTimeout(60_000);

interface Url {
  url: string;
}

interface ClientResult {
  stdout: { length: number; sha256: string; text: string };
  stderr: string;
  status?: {
    status: string;
    reason?: string;
    details?: { causes: Array<{ reason: string; message: string }> };
  };
  error?: string;
}

/**
 * Drives @kubernetes/client-node (an independent WebSocket client) in a child process: the package
 * is ESM-only and jest runs CommonJS. Its Exec/Attach/PortForward build API-server paths; a handler
 * that keeps everything of its WebSocketHandler but the path points them at our URL instead.
 */
const CLIENT_NODE = `
import { KubeConfig, Exec, Attach, PortForward } from '@kubernetes/client-node';
// Not re-exported by the package index; the module itself is the one Exec and friends use.
import { WebSocketHandler } from '@kubernetes/client-node/dist/web-socket-handler.js';
import { Readable, Writable, PassThrough } from 'node:stream';
import { createHash } from 'node:crypto';
const cfg = JSON.parse(process.argv[1]);
const url = new URL(cfg.url);
const kc = new KubeConfig();
kc.loadFromOptions({
  clusters: [{ name: 'c', server: url.origin, skipTLSVerify: true }],
  users: [{ name: 'u' }],
  contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
  currentContext: 'x',
});
const real = new WebSocketHandler(kc);
const handler = { connect: (_path, text, binary) => real.connect(url.pathname + url.search, text, binary) };
const hash = createHash('sha256');
let length = 0, text = '', stderr = '';
const stdout = new Writable({ write(c, _e, cb) { hash.update(c); length += c.length; if (text.length < 4096) text += c; cb(); } });
if (cfg.rows) { stdout.rows = cfg.rows; stdout.columns = cfg.columns; }
const errOut = new Writable({ write(c, _e, cb) { stderr += c; cb(); } });
const result = {};
const done = (ws) => ws.on('close', () => {
  result.stdout = { length, sha256: hash.digest('hex'), text };
  result.stderr = stderr;
  process.stdout.write(JSON.stringify(result));
  process.exit(0);
});
const stdin = cfg.stdin === undefined ? null : Readable.from([Buffer.from(cfg.stdin)]);
try {
  if (cfg.mode === 'exec') {
    done(await new Exec(kc, handler).exec('ns', 'pod', 'c', cfg.cmd, stdout, cfg.tty ? null : errOut, stdin, !!cfg.tty, (s) => (result.status = s)));
  } else if (cfg.mode === 'attach') {
    done(await new Attach(kc, handler).attach('ns', 'pod', 'c', stdout, errOut, stdin, false));
  } else {
    const input = new PassThrough();
    const ws = await new PortForward(kc, true, handler).portForward('ns', 'pod', [cfg.port], stdout, errOut, input);
    done(ws);
    input.write(cfg.send);
  }
} catch (e) {
  process.stdout.write(JSON.stringify({ error: String(e && e.message || e) }));
  process.exit(0);
}
`;

function clientNode(cfg: object): Promise<ClientResult> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', CLIENT_NODE, JSON.stringify(cfg)],
      { cwd: process.cwd(), maxBuffer: 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`client-node failed: ${err.message} ${stderr}`));
        resolve(JSON.parse(stdout) as ClientResult);
      },
    );
  });
}

/** A raw channel WebSocket with the `ws` package, for what client-node does not cover. */
function wsOpen(
  url: string,
  protocols: string[],
): Promise<{ ws: WebSocket; messages: Array<Buffer | string> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url.replace(/^http/, 'ws'), protocols);
    const messages: Array<Buffer | string> = [];
    ws.on('message', (data, isBinary) =>
      messages.push(isBinary ? Buffer.from(data as Buffer) : (data as Buffer).toString()),
    );
    ws.once('open', () => resolve({ ws, messages }));
    ws.once('error', reject);
  });
}

const closed = (ws: WebSocket): Promise<void> => new Promise((r) => ws.once('close', () => r()));

describe('streaming over WebSocket', () => {
  let shim: TestShim;
  let fx: StreamingFixtures;
  let box: string;
  let pod: string;

  beforeAll(async () => {
    shim = await startShim();
    fx = new StreamingFixtures(shim.app.docker.api);
    box = await fx.container('wsbox', ['sleep', '3600']);
    pod = await fx.sandbox('wspod');
    await fx.inPod(pod, 'wsweb', [
      'sh',
      '-c',
      'mkdir -p /www && echo hello-from-pod > /www/index.html && exec httpd -f -p 127.0.0.1:8080 -h /www',
    ]);
  });
  afterAll(async () => {
    await fx.removeAll();
    await shim.stop();
  });

  const execUrl = async (cmd: string[], extra: object = {}): Promise<string> =>
    (await shim.client.rt<Url>('Exec', { container_id: box, cmd, stdout: true, stderr: true, ...extra })).url;

  describe('@kubernetes/client-node', () => {
    it('echoes stdin through cat (v5, stdin closed with the CLOSE message)', async () => {
      const url = await execUrl(['cat'], { stdin: true });
      const res = await clientNode({ mode: 'exec', url, cmd: ['cat'], stdin: 'hello over websocket\n' });
      expect(res.stdout.text).toBe('hello over websocket\n');
      expect(res.status).toEqual({ metadata: {}, status: 'Success' });
    });

    it('reports exit codes 1 and 137, and stderr apart', async () => {
      const one = await clientNode({
        mode: 'exec',
        url: await execUrl(['sh', '-c', 'echo e >&2; exit 1']),
        cmd: ['x'],
      });
      expect(one.stderr).toBe('e\n');
      expect(one.status).toMatchObject({ status: 'Failure', reason: 'NonZeroExitCode' });
      expect(one.status!.details!.causes).toEqual([{ reason: 'ExitCode', message: '1' }]);
      const killed = await clientNode({
        mode: 'exec',
        url: await execUrl(['sh', '-c', 'kill -9 $$']),
        cmd: ['x'],
      });
      expect(killed.status!.details!.causes[0].message).toBe('137');
    });

    it('delivers 10 MiB intact', async () => {
      const size = 10 * 1024 * 1024;
      const cmd = ['sh', '-c', `seq 1 2000000 | head -c ${size}`];
      const res = await clientNode({ mode: 'exec', url: await execUrl(cmd), cmd });
      let expected = '';
      for (let i = 1; expected.length < size; i++) expected += `${i}\n`;
      expect(res.stdout.length).toBe(size);
      expect(res.stdout.sha256).toBe(
        crypto.createHash('sha256').update(expected.slice(0, size)).digest('hex'),
      );
    });

    it('sends the terminal size, which stty size sees', async () => {
      const script =
        'for i in $(seq 100); do [ "$(stty size)" = "45 123" ] && break; sleep 0.1; done; stty size';
      const url = (
        await shim.client.rt<Url>('Exec', {
          container_id: box,
          cmd: ['sh', '-c', script],
          tty: true,
          stdout: true,
        })
      ).url;
      const res = await clientNode({ mode: 'exec', url, cmd: ['x'], tty: true, rows: 45, columns: 123 });
      expect(res.stdout.text).toContain('45 123');
    });

    it('attaches to a container printing output', async () => {
      const id = await fx.container(
        'wsattach',
        ['sh', '-c', 'echo started; while read l; do echo "got $l"; done; echo bye'],
        { OpenStdin: true, StdinOnce: true },
      );
      const url = (
        await shim.client.rt<Url>('Attach', { container_id: id, stdin: true, stdout: true, stderr: true })
      ).url;
      const res = await clientNode({ mode: 'attach', url, stdin: 'one\n' });
      expect(res.stdout.text).toContain('got one\nbye\n');
    });

    it('forwards two connections at once to a port bound to the pod loopback', async () => {
      const url = async () =>
        `${(await shim.client.rt<Url>('PortForward', { pod_sandbox_id: pod, port: [8080] })).url}?port=8080`;
      const send = 'GET /index.html HTTP/1.0\r\n\r\n';
      const [a, b] = await Promise.all([
        clientNode({ mode: 'portforward', url: await url(), port: 8080, send }),
        clientNode({ mode: 'portforward', url: await url(), port: 8080, send }),
      ]);
      for (const r of [a, b]) {
        expect(r.error).toBeUndefined();
        expect(r.stdout.text).toMatch(/^HTTP\/1\.[01] 200/);
        expect(r.stdout.text).toContain('hello-from-pod');
      }
    });
  });

  describe('ws client', () => {
    it('speaks the base64 variant and v4 status', async () => {
      const { ws, messages } = await wsOpen(await execUrl(['sh', '-c', 'echo hi; exit 2']), [
        'v4.base64.channel.k8s.io',
      ]);
      expect(ws.protocol).toBe('v4.base64.channel.k8s.io');
      await closed(ws);
      const text = messages.map(String);
      const out = text.filter((m) => m[0] === '1').map((m) => Buffer.from(m.slice(1), 'base64').toString());
      expect(out.join('')).toBe('hi\n');
      const status = text.find((m) => m[0] === '3');
      expect(JSON.parse(Buffer.from(status!.slice(1), 'base64').toString())).toMatchObject({
        reason: 'NonZeroExitCode',
      });
    });

    it('port-forward opens every channel with the port, and reports a closed port on its error channel', async () => {
      const url = (await shim.client.rt<Url>('PortForward', { pod_sandbox_id: pod, port: [9] })).url;
      const { ws, messages } = await wsOpen(url, ['v4.channel.k8s.io']);
      await closed(ws);
      const bin = messages.filter((m): m is Buffer => Buffer.isBuffer(m));
      expect(bin[0].equals(Buffer.from([0, 9, 0]))).toBe(true);
      expect(bin[1].equals(Buffer.from([1, 9, 0]))).toBe(true);
      const err = bin.find((m, i) => i > 1 && m[0] === 1);
      expect(err!.subarray(1).toString()).toMatch(/error forwarding port 9 to pod .*ECONNREFUSED/);
    });

    it('refuses a used token with 404', async () => {
      const url = await execUrl(['true']);
      const { ws } = await wsOpen(url, ['v4.channel.k8s.io']);
      await closed(ws);
      await expect(wsOpen(url, ['v4.channel.k8s.io'])).rejects.toThrow(/404/);
    });
  });
});
