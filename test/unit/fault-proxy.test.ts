import fs from 'fs';
import http from 'http';
import net from 'net';
import os from 'os';
import path from 'path';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy';

/** A tiny engine on a unix socket: echoes requests, and streams events when the test pushes them. */
interface TinyEngine {
  server: http.Server;
  requests: string[];
  /** Writes to every open /events answer (one write, i.e. one chunk). */
  pushEvents(text: string): void;
  eventStreams: number;
}

async function startTinyEngine(socket: string): Promise<TinyEngine> {
  const streams = new Set<http.ServerResponse>();
  const engine: TinyEngine = {
    server: http.createServer((req, res) => {
      engine.requests.push(`${req.method} ${req.url}`);
      if (req.url?.includes('/events')) {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.flushHeaders();
        streams.add(res);
        engine.eventStreams++;
        res.on('close', () => streams.delete(res));
        return;
      }
      const body: Buffer[] = [];
      req.on('data', (b: Buffer) => body.push(b));
      req.on('end', () => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ url: req.url, body: Buffer.concat(body).toString() }));
      });
    }),
    requests: [],
    eventStreams: 0,
    pushEvents(text) {
      for (const s of streams) s.write(text);
    },
  };
  engine.server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket) => {
    engine.requests.push(`${req.method} ${req.url}`);
    socket.write('HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n');
    socket.on('data', (d: Buffer) => socket.write(Buffer.from(d.toString().toUpperCase())));
    socket.on('end', () => socket.end());
  });
  await new Promise<void>((r) => engine.server.listen(socket, r));
  return engine;
}

interface Answer {
  status: number;
  body: string;
}

/** One agent with one socket: every request of a test goes over the same keep-alive connection. */
function client(proxySocket: string) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const request = (method: string, p: string, body?: string, chunked = false): Promise<Answer> =>
    new Promise((resolve, reject) => {
      // Node frames no body of a DELETE by itself: say its length, as dockerode would.
      const headers: Record<string, string> = chunked
        ? { 'Transfer-Encoding': 'chunked' }
        : body !== undefined
          ? { 'Content-Length': String(Buffer.byteLength(body)) }
          : {};
      const req = http.request({ socketPath: proxySocket, method, path: p, agent, headers }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (b: Buffer) => parts.push(b));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString() }));
      });
      req.on('error', reject);
      if (body !== undefined && chunked) {
        // Several chunks, so the proxy has to follow the framing across them.
        for (const piece of body.match(/.{1,3}/g) ?? []) req.write(piece);
      } else if (body !== undefined) req.write(body);
      req.end();
    });
  return { agent, request };
}

/** Opens /events and collects its lines until the test ends it. */
function events(proxySocket: string) {
  const lines: string[] = [];
  let closed = false;
  const req = http.get({ socketPath: proxySocket, path: '/v1.41/events' }, (res) => {
    let partial = '';
    res.on('data', (b: Buffer) => {
      const parts = (partial + b.toString()).split('\n');
      partial = parts.pop() ?? '';
      lines.push(...parts);
    });
    res.on('close', () => {
      closed = true;
    });
  });
  req.on('error', () => {
    closed = true;
  });
  return {
    lines,
    isClosed: () => closed,
    stop: () => req.destroy(),
  };
}

async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 10));
}

describe('fault proxy', () => {
  let dir: string;
  let engine: TinyEngine;
  let proxy: FaultProxy;
  let proxySocket: string;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fproxy-'));
    engine = await startTinyEngine(path.join(dir, 'engine.sock'));
    proxySocket = path.join(dir, 'proxy.sock');
    proxy = await startFaultProxy(path.join(dir, 'engine.sock'), proxySocket);
  });
  afterEach(async () => {
    await proxy.close();
    engine.server.closeAllConnections();
    await new Promise((r) => engine.server.close(r));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('passes requests and their bodies through, one connection, both body framings', async () => {
    const c = client(proxySocket);
    expect(proxy.endpoint).toBe(`unix://${proxySocket}`);
    const a = await c.request('POST', '/v1.41/containers/create', '{"Image":"x"}');
    const b = await c.request('POST', '/v1.41/build', 'abcdefghijklmnop', true);
    const d = await c.request('GET', '/containers/abc/json');
    expect(JSON.parse(a.body)).toEqual({ url: '/v1.41/containers/create', body: '{"Image":"x"}' });
    expect(JSON.parse(b.body)).toEqual({ url: '/v1.41/build', body: 'abcdefghijklmnop' });
    expect(d.status).toBe(200);
    expect(proxy.seen(/\/containers\//)).toBe(2);
    expect(proxy.seen(/^POST /)).toBe(2);
    c.agent.destroy();
  });

  it('fails the chosen requests here (after, times) and passes the others, on one connection', async () => {
    const c = client(proxySocket);
    proxy.failNext(/^GET \S*\/containers\/abc\/json/, { status: 500, message: 'boom', after: 1, times: 2 });
    const answers: Answer[] = [];
    for (let i = 0; i < 4; i++) answers.push(await c.request('GET', '/v1.41/containers/abc/json'));
    // A failed request with a body: the body is swallowed, the next request still parses.
    proxy.failNext(/DELETE/, { status: 409, message: 'removal already in progress' });
    const del = await c.request('DELETE', '/v1.41/containers/abc', 'ignored body');
    const after = await c.request('GET', '/v1.41/containers/other/json');
    expect(answers.map((a) => a.status)).toEqual([200, 500, 500, 200]);
    expect(JSON.parse(answers[1].body)).toEqual({ message: 'boom' });
    expect(del.status).toBe(409);
    expect(JSON.parse(del.body)).toEqual({ message: 'removal already in progress' });
    expect(after.status).toBe(200);
    expect(engine.requests).toEqual([
      'GET /v1.41/containers/abc/json',
      'GET /v1.41/containers/abc/json',
      'GET /v1.41/containers/other/json',
    ]);
    expect(proxy.seen(/containers\/abc\/json/)).toBe(4);
    c.agent.destroy();
  });

  it('holds matching requests before passing them on', async () => {
    const c = client(proxySocket);
    proxy.hold(/\/slow/, 300);
    const started = Date.now();
    const answer = c.request('GET', '/slow');
    await new Promise((r) => setTimeout(r, 50));
    expect(engine.requests).toEqual([]);
    expect((await answer).status).toBe(200);
    // A lower bound only: the hold itself is the fault under test.
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    proxy.hold(/\/slow/, 0);
    await c.request('GET', '/slow');
    expect(engine.requests).toEqual(['GET /slow', 'GET /slow']);
    c.agent.destroy();
  });

  it('drops chosen events from the chunked stream, whatever the chunking, and undoes it', async () => {
    const ev = events(proxySocket);
    await until(() => engine.eventStreams === 1);
    const undo = proxy.dropEvents((e) => e.Action === 'die');
    const line = (action: string, id: string): string =>
      JSON.stringify({ Action: action, Actor: { ID: id } });
    // Two events in one chunk, one split over two chunks.
    engine.pushEvents(`${line('start', 'a')}\n${line('die', 'a')}\n`);
    const split = `${line('die', 'b')}\n${line('destroy', 'b')}\n`;
    engine.pushEvents(split.slice(0, 10));
    engine.pushEvents(split.slice(10));
    await until(() => ev.lines.length >= 2);
    undo();
    engine.pushEvents(`${line('die', 'c')}\n`);
    await until(() => ev.lines.length >= 3);
    expect(ev.lines.map((l) => (JSON.parse(l) as { Action: string }).Action)).toEqual([
      'start',
      'destroy',
      'die',
    ]);
    ev.stop();
  });

  it('resets a stream mid-way and counts what it cut', async () => {
    const ev = events(proxySocket);
    await until(() => engine.eventStreams === 1);
    expect(proxy.resetStreams(/\/containers\//)).toBe(0);
    expect(proxy.resetStreams(/\/events/)).toBe(1);
    await until(() => ev.isClosed());
  });

  it('refuses connections while told to, and lets them through again', async () => {
    const c = client(proxySocket);
    expect((await c.request('GET', '/_ping')).status).toBe(200);
    proxy.refuse(true);
    await expect(c.request('GET', '/_ping')).rejects.toThrow();
    proxy.refuse(false);
    expect((await c.request('GET', '/_ping')).status).toBe(200);
    c.agent.destroy();
  });

  it('passes a hijacked connection raw', async () => {
    const sock = net.connect(proxySocket);
    sock.write(
      'POST /v1.41/exec/e1/start HTTP/1.1\r\nHost: docker\r\nUpgrade: tcp\r\nConnection: Upgrade\r\n\r\n',
    );
    let got = '';
    sock.on('data', (d: Buffer) => {
      got += d.toString();
    });
    await until(() => got.includes('101'));
    sock.write('GET /not-a-request\r\n\r\n');
    await until(() => got.includes('GET /NOT-A-REQUEST'));
    expect(proxy.seen(/not-a-request/)).toBe(0);
    sock.destroy();
  });

  it('clearFaults ends every rule', async () => {
    const c = client(proxySocket);
    proxy.failNext(/_ping/, { status: 500, times: 5 });
    proxy.hold(/_ping/, 10_000);
    proxy.clearFaults();
    expect((await c.request('GET', '/_ping')).status).toBe(200);
    c.agent.destroy();
  });
});
