import net from 'net';
import { SpdySession, type SpdyStream } from '../../src/streaming/spdy-session';
import { encodeFrame, FrameParser, type Frame } from '../../src/streaming/spdy-frames';

/** A connected pair of loopback sockets. */
async function socketPair(): Promise<[net.Socket, net.Socket, () => void]> {
  const server = net.createServer({ allowHalfOpen: true });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
  const client = net.connect({
    port: (server.address() as net.AddressInfo).port,
    host: '127.0.0.1',
    allowHalfOpen: true,
  });
  const serverSide = await accepted;
  return [serverSide, client, () => server.close()];
}

const read = (s: SpdyStream): Promise<string> =>
  new Promise((resolve) => {
    let text = '';
    s.on('data', (d: Buffer) => (text += d.toString()));
    s.once('end', () => resolve(text));
  });

describe('SpdySession', () => {
  let closeServer: () => void;
  let server: SpdySession;
  let client: SpdySession;
  let rawClient: net.Socket;

  beforeEach(async () => {
    const [a, b, close] = await socketPair();
    closeServer = close;
    rawClient = b;
    server = new SpdySession(a, 'server');
    client = new SpdySession(b, 'client');
  });
  afterEach(() => {
    server.destroy();
    client.destroy();
    closeServer();
  });

  it('opens streams, replies, carries data both ways and half-closes', async () => {
    const accepted = new Promise<SpdyStream>((r) => server.once('stream', r));
    const s = client.openStream({ streamtype: ['stdin'] });
    expect(s.id).toBe(1);
    const peer = await accepted;
    expect(peer.header('streamtype')).toBe('stdin');
    expect(await s.waitReply()).toEqual({});
    const gotByServer = read(peer);
    s.end('from client');
    expect(await gotByServer).toBe('from client');
    const gotByClient = read(s);
    peer.end('from server');
    expect(await gotByClient).toBe('from server');
  });

  it('moves a large body with many frames intact', async () => {
    const accepted = new Promise<SpdyStream>((r) => server.once('stream', r));
    const s = client.openStream({ streamtype: ['stdout'] });
    const peer = await accepted;
    const body = Buffer.alloc(3 * 1024 * 1024);
    for (let i = 0; i < body.length; i++) body[i] = i % 251;
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    const done = new Promise((r) => s.once('end', r));
    peer.end(body);
    await done;
    expect(Buffer.concat(chunks).equals(body)).toBe(true);
  });

  it('answers pings and ends streams the peer resets', async () => {
    await client.ping();
    const accepted = new Promise<SpdyStream>((r) => server.once('stream', r));
    const s = client.openStream({ streamtype: ['error'] });
    const peer = await accepted;
    const closed = new Promise((r) => peer.once('close', r));
    s.cancel();
    await closed;
    expect(peer.reset).toBe(true);
  });

  it('sends GOAWAY and closes on close()', async () => {
    const goaway = new Promise<number>((r) => client.once('goaway', r));
    const accepted = new Promise<SpdyStream>((r) => server.once('stream', r));
    client.openStream({ streamtype: ['error'] });
    await accepted;
    await Promise.all([server.close(), goaway.then(() => client.close())]);
    expect(await goaway).toBe(1);
  });

  it('grants window to a flow-controlling peer as it consumes', async () => {
    // Raw frames from a hand-made client: watch what the server sends back.
    client.destroy();
    const [a, b, close] = await socketPair();
    const srv = new SpdySession(a, 'server');
    const seen: Frame[] = [];
    const parser = new FrameParser();
    b.on('data', (d: Buffer) => seen.push(...parser.push(d)));
    const got = new Promise<SpdyStream>((r) => srv.once('stream', r));
    // SYN_STREAM id 1 with an uncompressed-but-valid zlib block is hard to hand-make; use a real one.
    const helper = new SpdySession(b, 'client');
    helper.openStream({ streamtype: ['stdin'] }).write(Buffer.alloc(100 * 1024));
    const stream = await got;
    stream.resume();
    await new Promise<void>((r) => {
      const t = setInterval(() => {
        if (seen.some((f) => f.type === 'window_update' && f.streamId === 0)) {
          clearInterval(t);
          r();
        }
      }, 10);
    });
    expect(seen.some((f) => f.type === 'window_update' && f.streamId === 1)).toBe(true);
    srv.destroy();
    helper.destroy();
    close();
  });

  it('closes the connection with GOAWAY on a malformed frame', async () => {
    const seen: Frame[] = [];
    const parser = new FrameParser();
    rawClient.removeAllListeners('data');
    rawClient.on('data', (d: Buffer) => seen.push(...parser.push(d)));
    const closed = new Promise((r) => server.once('close', r));
    // A SPDY/2 control frame: not ours to speak.
    rawClient.write(encodeFrame({ type: 'ping', id: 1 }).fill(0x82, 0, 1).fill(0x02, 1, 2));
    await closed;
    await new Promise((r) => rawClient.once('end', r));
    expect(seen.find((f) => f.type === 'goaway')).toMatchObject({ status: 1 });
  });
});
