import fs from 'fs';
import http2 from 'http2';
import net from 'net';
import os from 'os';
import path from 'path';
import zlib from 'zlib';
import * as grpc from '@grpc/grpc-js';
import { deadlineDelay, H2GrpcServer } from '../../src/grpc/h2-server';
import { criServiceDefinition } from '../../src/grpc/proto';
import type { AnyHandler, StreamCall, UnaryCall, UnaryCallback } from '../../src/grpc/server-calls';
import { status } from '../../src/grpc/status-codes';

/**
 * The transport through real clients on a real unix socket: @grpc/grpc-js's client (the tests' and
 * crictl's protocol), and raw node:http2 where a test needs bytes no gRPC client would send.
 */

const runtime = criServiceDefinition('RuntimeService');
const VERSION = runtime.Version;
const EVENTS = runtime.GetContainerEvents;

interface Served {
  server: H2GrpcServer;
  socket: string;
  client: grpc.Client;
}

const dirs: string[] = [];
const open: Served[] = [];

async function serve(
  handlers: Record<string, AnyHandler>,
  limits = { maxReceiveBytes: 1 << 20, maxSendBytes: 1 << 20 },
): Promise<Served> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dcri-h2-'));
  dirs.push(dir);
  const socket = path.join(dir, 'cri.sock');
  const server = new H2GrpcServer(limits);
  const all: Record<string, AnyHandler> = {};
  for (const name of Object.keys(runtime)) {
    all[name] = handlers[name] ?? ((_c: unknown, cb: UnaryCallback<unknown>) => cb(null, {}));
  }
  server.addService(runtime, all);
  await server.listen({ path: socket });
  const client = new grpc.Client(`unix://${socket}`, grpc.credentials.createInsecure(), {
    'grpc.default_compression_algorithm': 0,
  });
  const s = { server, socket, client };
  open.push(s);
  return s;
}

afterEach(() => {
  for (const s of open.splice(0)) {
    s.client.close();
    s.server.forceShutdown();
  }
});
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

type Result = { err: grpc.ServiceError | null; res?: Record<string, unknown> };

function callVersion(
  client: grpc.Client,
  req: object = { version: 'v1' },
  options: grpc.CallOptions = {},
  pathOverride?: string,
): Promise<Result> & { call?: grpc.ClientUnaryCall } {
  let call: grpc.ClientUnaryCall | undefined;
  const p = new Promise<Result>((resolve) => {
    call = client.makeUnaryRequest(
      pathOverride ?? VERSION.path,
      VERSION.requestSerialize,
      (b: Buffer) => VERSION.responseDeserialize(b) as Record<string, unknown>,
      req,
      new grpc.Metadata(),
      options,
      (err, res) => resolve({ err, res }),
    );
  }) as Promise<Result> & { call?: grpc.ClientUnaryCall };
  p.call = call;
  return p;
}

/** A raw HTTP/2 request: what answers come back (headers, trailers, body bytes). */
function rawRequest(
  socket: string,
  headers: http2.OutgoingHttpHeaders,
  body: Buffer,
): Promise<{ headers: http2.IncomingHttpHeaders; trailers: http2.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect('http://localhost', { createConnection: () => net.connect(socket) });
    session.on('error', reject);
    const req = session.request({ ':method': 'POST', ...headers });
    let got: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    req.on('response', (h) => (got = h));
    req.on('trailers', (t) => (trailers = t));
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', () => undefined);
    req.on('close', () => {
      session.close();
      resolve({ headers: got, trailers, body: Buffer.concat(chunks) });
    });
    req.end(body);
  });
}

/** A promise and the function that settles it: for a test to wait until a handler says so. */
function signal(): [Promise<void>, () => void] {
  let fire: () => void = () => undefined;
  const fired = new Promise<void>((r) => (fire = r));
  return [fired, fire];
}

const prefixed = (flag: number, bytes: Buffer): Buffer => {
  const b = Buffer.alloc(5);
  b[0] = flag;
  b.writeUInt32BE(bytes.length, 1);
  return Buffer.concat([b, bytes]);
};

/** The status of a raw answer: the trailers', or the headers' in a trailers-only answer. */
const statusOf = (r: { headers: http2.IncomingHttpHeaders; trailers: http2.IncomingHttpHeaders }) => ({
  code: Number(r.trailers['grpc-status'] ?? r.headers['grpc-status']),
  message: decodeURIComponent(String(r.trailers['grpc-message'] ?? r.headers['grpc-message'] ?? '')),
});

describe('unary calls', () => {
  it('answers with the handler result, decoded as the proto says', async () => {
    const seen: unknown[] = [];
    const s = await serve({
      Version: (call: UnaryCall<{ version: string }>, cb: UnaryCallback<object>) => {
        seen.push(call.request);
        cb(null, { version: '0.1.0', runtime_name: 'docker-cri', runtime_api_version: 'v1' });
      },
    });
    const { err, res } = await callVersion(s.client, { version: 'v1alpha' });
    expect(err).toBeNull();
    expect(res).toMatchObject({ version: '0.1.0', runtime_name: 'docker-cri', runtime_api_version: 'v1' });
    expect(seen).toEqual([{ version: 'v1alpha' }]);
  });

  it.each([
    [status.NOT_FOUND, 'container "abc" not found'],
    [status.INVALID_ARGUMENT, 'config.metadata.name: must be set; 100% sure, naïve'],
    [status.FAILED_PRECONDITION, 'line one\nline two'],
  ])('ends with the status a handler fails with (%s)', async (code, details) => {
    const s = await serve({ Version: (_c: unknown, cb: UnaryCallback<object>) => cb({ code, details }) });
    const { err } = await callVersion(s.client);
    expect(err?.code).toBe(code);
    expect(err?.details).toBe(details);
  });

  it('turns a handler that throws into INTERNAL and keeps serving', async () => {
    const s = await serve({
      Version: () => {
        throw new Error('bug in a handler');
      },
    });
    const { err } = await callVersion(s.client);
    expect(err?.code).toBe(status.INTERNAL);
    expect(err?.details).toBe('bug in a handler');
    expect((await callVersion(s.client, {}, {}, runtime.Status.path)).err).toBeNull();
  });

  it('takes the first answer of a handler that calls back twice', async () => {
    const s = await serve({
      Version: (_c: unknown, cb: UnaryCallback<object>) => {
        cb(null, { version: 'first' });
        cb(null, { version: 'second' });
        cb({ code: status.INTERNAL, details: 'late' });
      },
    });
    const { err, res } = await callVersion(s.client);
    expect(err).toBeNull();
    expect(res?.version).toBe('first');
  });

  it('answers UNIMPLEMENTED for a method it does not serve', async () => {
    const s = await serve({});
    const { err } = await callVersion(s.client, {}, {}, '/runtime.v1.RuntimeService/NoSuchMethod');
    expect(err?.code).toBe(status.UNIMPLEMENTED);
    expect(err?.details).toMatch('/runtime.v1.RuntimeService/NoSuchMethod');
  });

  it('ends a call whose deadline passes with DEADLINE_EXCEEDED, and tells the handler', async () => {
    const [told, cancelled] = signal();
    let late: UnaryCallback<object> | undefined;
    const s = await serve({
      Version: (call: UnaryCall<unknown>, cb: UnaryCallback<object>) => {
        late = cb;
        call.on('cancelled', () => {
          expect(call.cancelled).toBe(true);
          cancelled();
        });
      },
    });
    const { err } = await callVersion(s.client, {}, { deadline: Date.now() + 300 });
    expect(err?.code).toBe(status.DEADLINE_EXCEEDED);
    await told;
    // The handler's answer after the deadline goes nowhere, and breaks nothing.
    late?.(null, { version: 'too late' });
    expect((await callVersion(s.client, {}, {}, runtime.Status.path)).err).toBeNull();
  });

  it('tells the handler when the client cancels', async () => {
    const [told, cancelled] = signal();
    const [running, started] = signal();
    const s = await serve({
      Version: (call: UnaryCall<unknown>) => {
        call.on('cancelled', cancelled);
        started();
      },
    });
    const pending = callVersion(s.client);
    await running;
    pending.call?.cancel();
    expect((await pending).err?.code).toBe(status.CANCELLED);
    await told;
  });

  it('tells the handler when the connection resets mid-call, and serves the next connection', async () => {
    const [told, cancelled] = signal();
    const [running, started] = signal();
    let late: UnaryCallback<object> | undefined;
    const s = await serve({
      Version: (call: UnaryCall<unknown>, cb: UnaryCallback<object>) => {
        late = cb;
        call.on('cancelled', cancelled);
        started();
      },
    });
    const session = http2.connect('http://localhost', { createConnection: () => net.connect(s.socket) });
    session.on('error', () => undefined);
    const req = session.request({
      ':method': 'POST',
      ':path': VERSION.path,
      'content-type': 'application/grpc',
    });
    req.on('error', () => undefined);
    req.end(prefixed(0, VERSION.requestSerialize({ version: 'v1' })));
    await running;
    // The socket goes away under the session: no GOAWAY, no RST_STREAM.
    (session.socket as net.Socket).destroy();
    await told;
    late?.(null, { version: 'to nobody' });
    expect((await callVersion(s.client, {}, {}, runtime.Status.path)).err).toBeNull();
  });

  it('refuses a request over the receive limit with RESOURCE_EXHAUSTED', async () => {
    const s = await serve({}, { maxReceiveBytes: 1024, maxSendBytes: 1 << 20 });
    const { err } = await callVersion(s.client, { version: 'x'.repeat(4096) });
    expect(err?.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(err?.details).toMatch(/Received message larger than max/);
    expect((await callVersion(s.client)).err).toBeNull();
  });

  it('refuses an answer over the send limit with RESOURCE_EXHAUSTED', async () => {
    const s = await serve(
      { Version: (_c: unknown, cb: UnaryCallback<object>) => cb(null, { version: 'y'.repeat(4096) }) },
      { maxReceiveBytes: 1 << 20, maxSendBytes: 1024 },
    );
    const { err } = await callVersion(s.client);
    expect(err?.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(err?.details).toMatch(/Sent message larger than max \(\d+ vs\. 1024\)/);
  });

  it('reads a gzip-compressed request (grpc-js compressing it)', async () => {
    const seen: unknown[] = [];
    const s = await serve({
      Version: (call: UnaryCall<unknown>, cb: UnaryCallback<object>) => {
        seen.push(call.request);
        cb(null, { version: 'ok' });
      },
    });
    const gz = new grpc.Client(`unix://${s.socket}`, grpc.credentials.createInsecure(), {
      'grpc.default_compression_algorithm': 2,
    });
    try {
      const { err, res } = await callVersion(gz, { version: 'v'.repeat(2000) });
      expect(err).toBeNull();
      expect(res?.version).toBe('ok');
      expect(seen).toEqual([{ version: 'v'.repeat(2000) }]);
    } finally {
      gz.close();
    }
  });

  it.each<[string, http2.OutgoingHttpHeaders, Buffer, number, RegExp]>([
    [
      'deflate',
      { 'grpc-encoding': 'deflate' },
      prefixed(1, zlib.deflateSync(VERSION.requestSerialize({ version: 'd' }))),
      status.OK,
      /^$/,
    ],
    [
      'an unknown encoding',
      { 'grpc-encoding': 'snappy' },
      prefixed(1, Buffer.from('x')),
      status.UNIMPLEMENTED,
      /snappy/,
    ],
    [
      'no encoding on a compressed message',
      {},
      prefixed(1, Buffer.from('x')),
      status.UNIMPLEMENTED,
      /identity/,
    ],
    [
      'gzip that is not',
      { 'grpc-encoding': 'gzip' },
      prefixed(1, Buffer.from('not gzip')),
      status.INTERNAL,
      /decompressing/,
    ],
    [
      'a cut message',
      {},
      prefixed(0, Buffer.from([10, 5, 97])).subarray(0, 6),
      status.INTERNAL,
      /malformed request/,
    ],
    ['no message', {}, Buffer.alloc(0), status.INTERNAL, /exactly one request message; the client sent 0/],
    [
      'two messages',
      {},
      Buffer.concat([prefixed(0, Buffer.alloc(0)), prefixed(0, Buffer.alloc(0))]),
      status.INTERNAL,
      /the client sent 2/,
    ],
    [
      'bytes that are no VersionRequest',
      {},
      prefixed(0, Buffer.from([0x12, 0x7f])),
      status.INTERNAL,
      /deserializing/,
    ],
  ])('a raw request with %s', async (_name, extra, body, code, message) => {
    const s = await serve({});
    const r = await rawRequest(
      s.socket,
      { ':path': VERSION.path, 'content-type': 'application/grpc', ...extra },
      body,
    );
    expect(r.headers[':status']).toBe(200);
    expect(statusOf(r).code).toBe(code);
    expect(statusOf(r).message).toMatch(message);
  });

  it('answers 415 to a content type that is not gRPC', async () => {
    const s = await serve({});
    const r = await rawRequest(
      s.socket,
      { ':path': VERSION.path, 'content-type': 'application/json' },
      Buffer.from('{}'),
    );
    expect(r.headers[':status']).toBe(415);
  });

  it('survives a client that speaks HTTP/1.1, and serves the next one', async () => {
    const s = await serve({});
    await new Promise<void>((resolve) => {
      const c = net.connect(s.socket, () => c.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
      c.on('data', () => undefined);
      c.on('error', () => resolve());
      c.on('close', () => resolve());
    });
    expect((await callVersion(s.client)).err).toBeNull();
  });
});

describe('server-streaming calls', () => {
  function collect(client: grpc.Client): {
    messages: unknown[];
    done: Promise<grpc.StatusObject>;
    call: grpc.ClientReadableStream<unknown>;
  } {
    const messages: unknown[] = [];
    const call = client.makeServerStreamRequest(
      EVENTS.path,
      EVENTS.requestSerialize,
      EVENTS.responseDeserialize,
      {},
      new grpc.Metadata(),
      {},
    );
    call.on('data', (m) => messages.push(m));
    call.on('error', () => undefined);
    const done = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
    return { messages, done, call };
  }

  const event = (id: string) => ({ container_id: id, container_event_type: 'CONTAINER_STARTED_EVENT' });

  it('sends what the handler writes, then OK when it ends', async () => {
    const s = await serve({
      GetContainerEvents: (call: StreamCall<unknown, object>) => {
        for (let i = 0; i < 50; i++) call.write(event(`c${i}`));
        call.end();
      },
    });
    const { messages, done } = collect(s.client);
    expect((await done).code).toBe(status.OK);
    expect(messages.map((m) => (m as { container_id: string }).container_id)).toEqual(
      Array.from({ length: 50 }, (_, i) => `c${i}`),
    );
  });

  it('ends with the status the handler emits as error, after what it wrote', async () => {
    const s = await serve({
      GetContainerEvents: (call: StreamCall<unknown, object>) => {
        call.write(event('a'));
        call.emit('error', { code: status.RESOURCE_EXHAUSTED, details: 'client fell behind' });
        call.write(event('dropped'));
        call.end();
      },
    });
    const { messages, done } = collect(s.client);
    const st = await done;
    expect(st.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(st.details).toBe('client fell behind');
    expect(messages).toHaveLength(1);
  });

  it('ends with an error status before any message as a trailers-only answer', async () => {
    const s = await serve({
      GetContainerEvents: (call: StreamCall<unknown, object>) => {
        call.emit('error', { code: status.UNIMPLEMENTED, details: 'not here' });
      },
    });
    const { messages, done } = collect(s.client);
    expect(await done).toMatchObject({ code: status.UNIMPLEMENTED, details: 'not here' });
    expect(messages).toEqual([]);
  });

  it('tells the handler, with cancelled then close, when the client cancels', async () => {
    const heard: string[] = [];
    const [gone, closed] = signal();
    const s = await serve({
      GetContainerEvents: (call: StreamCall<unknown, object>) => {
        call.write(event('first'));
        call.on('cancelled', () => heard.push(`cancelled ${call.cancelled}`));
        call.on('close', () => {
          heard.push('close');
          closed();
        });
      },
    });
    const { messages, call } = collect(s.client);
    while (messages.length === 0) await new Promise((r) => setTimeout(r, 5));
    call.cancel();
    await gone;
    expect(heard).toEqual(['cancelled true', 'close']);
  });

  it('write() turns false once 16 messages wait, then drain comes and every message arrives', async () => {
    const [sawDrain, drained] = signal();
    let full = 0;
    const s = await serve({
      GetContainerEvents: (call: StreamCall<unknown, object>) => {
        const big = { container_id: 'x'.repeat(16 * 1024), container_event_type: 'CONTAINER_STARTED_EVENT' };
        const pump = (): void => {
          while (full < 1 && call.write(big));
          if (full++ === 0) call.once('drain', () => (drained(), call.end()));
        };
        pump();
      },
    });
    const { call, done, messages } = collect(s.client);
    call.pause();
    await new Promise((r) => setTimeout(r, 200));
    expect(full).toBe(1);
    call.resume();
    await sawDrain;
    // A paused client's messages may follow its status event: read to the end of the stream.
    await new Promise((r) => call.on('end', r));
    expect((await done).code).toBe(status.OK);
    expect(messages).toHaveLength(16);
  });
});

describe('shutdown', () => {
  it('lets a call in flight finish, refuses new connections, then calls back', async () => {
    let answer: (() => void) | undefined;
    const s = await serve({
      Version: (_c: unknown, cb: UnaryCallback<object>) => {
        answer = () => cb(null, { version: 'finished' });
      },
    });
    const pending = callVersion(s.client);
    while (!answer) await new Promise((r) => setTimeout(r, 5));
    let shut = false;
    const closed = new Promise<void>((resolve) =>
      s.server.tryShutdown(() => {
        shut = true;
        resolve();
      }),
    );
    await new Promise((r) => setTimeout(r, 50));
    expect(shut).toBe(false);
    await expect(
      new Promise((resolve, reject) => net.connect(s.socket).on('connect', resolve).on('error', reject)),
    ).rejects.toThrow();
    answer();
    expect((await pending).res?.version).toBe('finished');
    await closed;
  });

  it('forceShutdown ends calls in flight', async () => {
    const [running, started] = signal();
    const s = await serve({ Version: () => started() });
    const pending = callVersion(s.client);
    await running;
    s.server.forceShutdown();
    expect((await pending).err?.code).toBe(status.UNAVAILABLE);
  });
});

describe('deadlineDelay', () => {
  it.each([
    [0.4, 1],
    [300, 300],
    [9999.2, 10_000],
    [10_000, 10_000],
    [10_000.5, 11_000],
    [119_999.87, 120_000],
    [119_000.01, 120_000],
    [120_000, 120_000],
  ])('a deadline %p ms away is a %p ms timer, never earlier', (ms, want) => {
    expect(deadlineDelay(ms)).toBe(want);
    expect(deadlineDelay(ms)).toBeGreaterThanOrEqual(ms);
  });
});
