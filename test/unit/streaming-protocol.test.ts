import {
  errorChannelPayload,
  JsonObjectSplitter,
  negotiate,
  parsePorts,
  parseTerminalSize,
  portPrefix,
  protocolVersion,
  SPDY_EXEC_PROTOCOLS,
  splitProtocols,
  WS_EXEC_PROTOCOLS,
} from '../../src/streaming/protocol';
import { expectedStreamTypes as expectedStreamTypesFor } from '../../src/streaming/spdy-remotecommand';
import { TokenCache } from '../../src/streaming/token-cache';
import { DockerDemuxer } from '../../src/streaming/docker-demux';
import { ChannelCodec } from '../../src/streaming/ws-channels';
import { parseBindAddr, urlHost } from '../../src/streaming/server';

describe('stream protocol negotiation', () => {
  it("takes the client's first supported version; none offered means the oldest", () => {
    expect(
      negotiate(['v5.channel.k8s.io', 'v4.channel.k8s.io', 'v3.channel.k8s.io'], SPDY_EXEC_PROTOCOLS),
    ).toEqual({
      ok: true,
      protocol: 'v4.channel.k8s.io',
    });
    expect(negotiate(['v2.channel.k8s.io', 'v4.channel.k8s.io'], SPDY_EXEC_PROTOCOLS)).toEqual({
      ok: true,
      protocol: 'v2.channel.k8s.io',
    });
    expect(negotiate([], SPDY_EXEC_PROTOCOLS)).toEqual({ ok: true, protocol: undefined });
    expect(negotiate(['v9.channel.k8s.io'], SPDY_EXEC_PROTOCOLS)).toEqual({ ok: false });
  });

  it('splits repeated and comma-joined headers', () => {
    expect(splitProtocols(['a, b', 'c'])).toEqual(['a', 'b', 'c']);
    expect(splitProtocols(undefined)).toEqual([]);
  });

  it('knows the version of every protocol name, base64 spellings included', () => {
    expect(protocolVersion('channel.k8s.io')).toBe(1);
    expect(protocolVersion('v4.channel.k8s.io')).toBe(4);
    expect(protocolVersion('v5.base64.channel.k8s.io')).toBe(5);
    expect(protocolVersion('base64.v4.channel.k8s.io')).toBe(4);
    expect(WS_EXEC_PROTOCOLS).toEqual(
      expect.arrayContaining(['v5.channel.k8s.io', 'v4.base64.channel.k8s.io', 'base64.channel.k8s.io']),
    );
  });

  it('expects the streams a client of each version opens', () => {
    const all = { stdin: true, stdout: true, stderr: true, tty: false };
    expect(expectedStreamTypesFor(all, 4)).toEqual(['error', 'stdin', 'stdout', 'stderr']);
    expect(expectedStreamTypesFor({ ...all, tty: true }, 4)).toEqual(['error', 'stdin', 'stdout', 'resize']);
    expect(expectedStreamTypesFor({ ...all, tty: true }, 2)).toEqual(['error', 'stdin', 'stdout']);
  });
});

describe('terminal sizes', () => {
  it('accepts Kubernetes and lower-case keys, refuses junk', () => {
    expect(parseTerminalSize('{"Width":80,"Height":24}')).toEqual({ width: 80, height: 24 });
    expect(parseTerminalSize('{"width":1,"height":2}')).toEqual({ width: 1, height: 2 });
    expect(parseTerminalSize('{"Width":-1,"Height":2}')).toBeUndefined();
    expect(parseTerminalSize('nope')).toBeUndefined();
  });

  it('splits a byte stream of JSON objects cut anywhere', () => {
    const s = new JsonObjectSplitter();
    expect(s.push('{"Width":1,')).toEqual([]);
    expect(s.push('"Height":2}\n{"Width":3,"Height":4}\n{"W')).toEqual([
      '{"Width":1,"Height":2}',
      '{"Width":3,"Height":4}',
    ]);
    expect(s.push('idth":5,"Height":"}"}')).toEqual(['{"Width":5,"Height":"}"}']);
  });
});

describe('error channel payloads', () => {
  it('v4 writes a metav1.Status for success, exit codes and errors', () => {
    expect(JSON.parse(errorChannelPayload({ kind: 'exit', code: 0 }, 4)!.toString())).toEqual({
      metadata: {},
      status: 'Success',
    });
    const failed = JSON.parse(
      errorChannelPayload({ kind: 'exit', code: 137, command: ['sh'] }, 5)!.toString(),
    );
    expect(failed).toMatchObject({ status: 'Failure', reason: 'NonZeroExitCode' });
    expect(failed.message).toMatch(/non-zero exit code.*137/);
    expect(failed.details.causes).toEqual([{ reason: 'ExitCode', message: '137' }]);
    expect(JSON.parse(errorChannelPayload({ kind: 'error', message: 'boom' }, 4)!.toString())).toMatchObject({
      status: 'Failure',
      message: 'boom',
    });
  });

  it('v1-v3 write text, and nothing on success', () => {
    expect(errorChannelPayload({ kind: 'exit', code: 0 }, 3)).toBeUndefined();
    expect(errorChannelPayload({ kind: 'exit', code: 2 }, 2)!.toString()).toMatch(/exit code 2/);
    expect(errorChannelPayload({ kind: 'error', message: 'boom' }, 1)!.toString()).toBe('boom');
  });
});

describe('port-forward helpers', () => {
  it('prefixes channels with the little-endian port and parses ?port=', () => {
    expect(portPrefix(8080)).toEqual(Buffer.from([0x90, 0x1f]));
    expect(parsePorts(['80', '8080,9090'])).toEqual([80, 8080, 9090]);
    expect(() => parsePorts(['0'])).toThrow(/invalid port "0"/);
    expect(() => parsePorts(['http'])).toThrow(/invalid port/);
  });
});

describe('WebSocket channel codec', () => {
  it('prefixes a channel byte, or a digit and base64', () => {
    expect(new ChannelCodec(false).encode(1, Buffer.from('hi'))).toEqual(Buffer.from([1, 0x68, 0x69]));
    expect(new ChannelCodec(true).encode(2, Buffer.from('hi'))).toBe('2aGk=');
    expect(new ChannelCodec(true).decode(Buffer.from('0aGk='), false)).toEqual({
      channel: 0,
      data: Buffer.from('hi'),
    });
    expect(new ChannelCodec(false).decode(Buffer.from([255, 0]), true)).toEqual({
      channel: 255,
      data: Buffer.from([0]),
    });
  });
});

describe('TokenCache', () => {
  it('gives each token once, and never after it expired', () => {
    let now = 1000;
    const cache = new TokenCache<string>(60_000, 2, () => now);
    const a = cache.insert('a')!;
    expect(a).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(cache.consume(a)).toBe('a');
    expect(cache.consume(a)).toBeUndefined();
    const b = cache.insert('b')!;
    now += 60_000;
    expect(cache.consume(b)).toBeUndefined();
    expect(cache.consume('unknown')).toBeUndefined();
  });

  it('refuses new tokens while full of live ones, and frees expired ones', () => {
    let now = 0;
    const cache = new TokenCache<number>(10, 2, () => now);
    expect(cache.insert(1)).toBeDefined();
    expect(cache.insert(2)).toBeDefined();
    expect(cache.insert(3)).toBeUndefined();
    now = 10;
    expect(cache.insert(4)).toBeDefined();
    expect(cache.size).toBe(1);
  });
});

describe('DockerDemuxer', () => {
  const frame = (type: number, s: string): Buffer => {
    const h = Buffer.alloc(8);
    h[0] = type;
    h.writeUInt32BE(Buffer.byteLength(s), 4);
    return Buffer.concat([h, Buffer.from(s)]);
  };

  it('splits stdout and stderr frames cut at any byte', () => {
    const wire = Buffer.concat([frame(1, 'out'), frame(2, 'err'), frame(1, ''), frame(1, 'more')]);
    const d = new DockerDemuxer();
    const got: string[] = [];
    for (const b of wire) for (const c of d.push(Buffer.from([b]))) got.push(`${c.stream}:${c.data}`);
    expect(got).toEqual(['stdout:out', 'stderr:err', 'stdout:more']);
    expect(d.pending()).toBe(0);
  });
});

describe('bind addresses', () => {
  it('parses host:port and [v6]:port, and names a reachable URL host', () => {
    expect(parseBindAddr('127.0.0.1:0')).toEqual({ host: '127.0.0.1', port: 0 });
    expect(parseBindAddr('[::1]:10010')).toEqual({ host: '::1', port: 10010 });
    expect(parseBindAddr(':8080')).toEqual({ host: '0.0.0.0', port: 8080 });
    expect(() => parseBindAddr('nope')).toThrow(/host:port/);
    expect(urlHost('0.0.0.0')).toBe('127.0.0.1');
    expect(urlHost('::1')).toBe('[::1]');
    expect(urlHost('10.0.0.5')).toBe('10.0.0.5');
  });
});
