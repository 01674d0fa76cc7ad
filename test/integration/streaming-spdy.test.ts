import http from 'http';
import { status } from '@grpc/grpc-js';
import { startShim, type TestShim } from '../support/shim';
import { grpcError } from '../support/cri-client';
import { collect, remoteCommand, spdyConnect } from '../support/spdy-client';
import { eventually, StreamingFixtures } from './streaming-fixtures';
import type { SpdySession } from '../../src/streaming/spdy-session';

interface Url {
  url: string;
}

jest.setTimeout(60_000);

describe('streaming over SPDY/3.1 (Exec, Attach, PortForward)', () => {
  let shim: TestShim;
  let fx: StreamingFixtures;
  let box: string;

  beforeAll(async () => {
    shim = await startShim();
    fx = new StreamingFixtures(shim.app.docker.api);
    box = await fx.container('box', ['sleep', '3600']);
  });
  afterAll(async () => {
    await fx.removeAll();
    await shim.stop();
  });

  const execUrl = async (cmd: string[], extra: object = {}): Promise<string> =>
    (await shim.client.rt<Url>('Exec', { container_id: box, cmd, stdout: true, stderr: true, ...extra })).url;

  it('returns an absolute URL on the bound port', async () => {
    const url = await execUrl(['true']);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/exec\/[A-Za-z0-9_-]{22,}$/);
    expect(Number(new URL(url).port)).toBeGreaterThan(0);
  });

  it('echoes stdin back through cat', async () => {
    const rc = await remoteCommand(await execUrl(['cat'], { stdin: true }), { stdin: true });
    expect(rc.protocol).toBe('v4.channel.k8s.io');
    rc.stdin!.write('hello ');
    rc.stdin!.end('world\n');
    const res = await rc.result;
    expect(res.stdout.toString()).toBe('hello world\n');
    expect(JSON.parse(res.error)).toEqual({ metadata: {}, status: 'Success' });
  });

  it('keeps stdout and stderr apart and reports exit code 1 as NonZeroExitCode', async () => {
    const rc = await remoteCommand(await execUrl(['sh', '-c', 'echo out; echo err >&2; exit 1']));
    const res = await rc.result;
    expect(res.stdout.toString()).toBe('out\n');
    expect(res.stderr.toString()).toBe('err\n');
    const st = JSON.parse(res.error);
    expect(st).toMatchObject({ status: 'Failure', reason: 'NonZeroExitCode' });
    expect(st.details.causes).toEqual([{ reason: 'ExitCode', message: '1' }]);
  });

  it('reports 137 for a command killed by SIGKILL', async () => {
    const rc = await remoteCommand(await execUrl(['sh', '-c', 'kill -9 $$']));
    const st = JSON.parse((await rc.result).error);
    expect(st.details.causes[0]).toEqual({ reason: 'ExitCode', message: '137' });
  });

  it('delivers 10 MiB of output intact', async () => {
    const size = 10 * 1024 * 1024;
    // A repeating counter pattern makes any lost, doubled or reordered chunk visible.
    const rc = await remoteCommand(await execUrl(['sh', '-c', `seq 1 2000000 | head -c ${size}`]));
    const res = await rc.result;
    expect(res.stdout.length).toBe(size);
    const lines = res.stdout.toString('latin1').split('\n');
    for (let i = 0; i < lines.length - 1; i++) {
      if (lines[i] !== String(i + 1)) throw new Error(`line ${i + 1} is "${lines[i]}"`);
    }
    expect(JSON.parse(res.error).status).toBe('Success');
  });

  it('takes 5 MiB of stdin with backpressure', async () => {
    const rc = await remoteCommand(await execUrl(['wc', '-c'], { stdin: true }), { stdin: true });
    const chunk = Buffer.alloc(64 * 1024, 'x');
    for (let i = 0; i < 80; i++) {
      if (!rc.stdin!.write(chunk)) await new Promise((r) => rc.stdin!.once('drain', r));
    }
    rc.stdin!.end();
    const res = await rc.result;
    expect(res.stdout.toString().trim()).toBe(String(80 * 64 * 1024));
  });

  it('keeps serving after a client hangs up mid-session', async () => {
    const rc = await remoteCommand(await execUrl(['sh', '-c', 'echo started; sleep 600']));
    rc.session.destroy();
    await rc.result;
    const again = await remoteCommand(await execUrl(['echo', 'still here']));
    expect((await again.result).stdout.toString()).toBe('still here\n');
  });

  it('speaks older protocol versions: v2 writes plain-text errors and nothing on success', async () => {
    const ok = await remoteCommand(await execUrl(['true']), { protocols: ['v2.channel.k8s.io'] });
    expect(ok.protocol).toBe('v2.channel.k8s.io');
    expect((await ok.result).error).toBe('');
    const bad = await remoteCommand(await execUrl(['sh', '-c', 'exit 4']), {
      protocols: ['v2.channel.k8s.io'],
    });
    expect((await bad.result).error).toMatch(/non-zero exit code.*4/);
  });

  it('resizes the TTY: stty size sees what the client sent', async () => {
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
    const rc = await remoteCommand(url, { tty: true, stderr: false });
    rc.resize!.write(JSON.stringify({ Width: 123, Height: 45 }) + '\n');
    const res = await rc.result;
    expect(res.stdout.toString()).toContain('45 123');
  });

  it('refuses a used token, an expired token and an unknown one with 404', async () => {
    const url = await execUrl(['true']);
    await (
      await remoteCommand(url)
    ).result;
    expect((await spdyConnect(url, ['v4.channel.k8s.io'])).status).toBe(404);

    const tokens = shim.app.deps.streaming!.tokens;
    const saved = tokens.ttlMs;
    tokens.ttlMs = 1;
    try {
      const expiring = await execUrl(['true']);
      await new Promise((r) => setTimeout(r, 20));
      expect((await spdyConnect(expiring, ['v4.channel.k8s.io'])).status).toBe(404);
    } finally {
      tokens.ttlMs = saved;
    }
    const unknown = url.replace(/[^/]+$/, 'AAAAAAAAAAAAAAAAAAAAAA');
    expect((await spdyConnect(unknown, ['v4.channel.k8s.io'])).status).toBe(404);
  });

  it('binds a URL to its own container and kind: nothing in the request can point it elsewhere', async () => {
    const other = await fx.container('other', ['sleep', '3600']);
    const url = await execUrl(['hostname']);
    // The same token under another kind's path is unknown there.
    expect((await spdyConnect(url.replace('/exec/', '/attach/'), ['v4.channel.k8s.io'])).status).toBe(404);
    // Query parameters naming another container are ignored: the command runs where the token says.
    const fresh = await execUrl(['hostname']);
    const rc = await remoteCommand(`${fresh}?container=${other}&container_id=${other}`);
    const res = await rc.result;
    expect(res.stdout.toString().trim()).toBe(box.slice(0, 12));
    expect(res.stdout.toString().trim()).not.toBe(other.slice(0, 12));
    // 128 random bits per token, base64url.
    expect(Buffer.from(url.split('/').pop()!, 'base64url').length).toBeGreaterThanOrEqual(16);
  });

  it('answers 403 with the accepted versions when none is common', async () => {
    const conn = await spdyConnect(await execUrl(['true']), ['v9.channel.k8s.io']);
    expect(conn.status).toBe(403);
    expect(conn.headers['x-accepted-stream-protocol-versions']).toContain('v4.channel.k8s.io');
  });

  it('validates requests: bad input, missing and stopped containers', async () => {
    expect((await grpcError(shim.client.rt('Exec', { container_id: box, cmd: [], stdout: true }))).code).toBe(
      status.INVALID_ARGUMENT,
    );
    expect((await grpcError(shim.client.rt('Exec', { container_id: box, cmd: ['true'] }))).code).toBe(
      status.INVALID_ARGUMENT,
    );
    const pathLike = await grpcError(
      shim.client.rt('Exec', { container_id: '../../info', cmd: ['true'], stdout: true }),
    );
    // Not hex: no container has such an id (and it never reaches Docker as a route).
    expect(pathLike.code).toBe(status.NOT_FOUND);
    expect(pathLike.details).toContain('../../info');
    const sandboxPath = await grpcError(
      shim.client.rt('PortForward', { pod_sandbox_id: '../x', port: [80] }),
    );
    expect(sandboxPath.code).toBe(status.NOT_FOUND);
    const missing = await grpcError(
      shim.client.rt('Exec', { container_id: 'f'.repeat(64), cmd: ['true'], stdout: true }),
    );
    expect(missing.code).toBe(status.NOT_FOUND);
    expect(missing.details).toContain('f'.repeat(64));

    const stopped = await fx.container('stopped', ['true']);
    await shim.app.docker.api.getContainer(stopped).wait();
    const e = await grpcError(shim.client.rt('Exec', { container_id: stopped, cmd: ['true'], stdout: true }));
    expect(e.code).toBe(status.FAILED_PRECONDITION);
    expect(e.details).toMatch(/not running/);
    const a = await grpcError(shim.client.rt('Attach', { container_id: stopped, stdout: true }));
    expect(a.code).toBe(status.FAILED_PRECONDITION);
  });

  it('reports a container that stopped after the URL was issued on the error stream', async () => {
    const brief = await fx.container('brief', ['sleep', '3600']);
    const url = (await shim.client.rt<Url>('Exec', { container_id: brief, cmd: ['true'], stdout: true })).url;
    await shim.app.docker.api.getContainer(brief).kill();
    await shim.app.docker.api.getContainer(brief).wait();
    const st = JSON.parse((await (await remoteCommand(url)).result).error);
    expect(st.status).toBe('Failure');
    expect(st.message).toMatch(/not running|is not running|stopped/i);
  });

  it('attaches to a container that prints output, and sends it stdin', async () => {
    const id = await fx.container(
      'attach',
      ['sh', '-c', 'echo started; while read l; do echo "got $l"; done; echo bye'],
      {
        OpenStdin: true,
        StdinOnce: true,
      },
    );
    const url = (
      await shim.client.rt<Url>('Attach', { container_id: id, stdin: true, stdout: true, stderr: true })
    ).url;
    expect(url).toMatch(/\/attach\//);
    const rc = await remoteCommand(url, { stdin: true });
    rc.stdin!.write('one\n');
    rc.stdin!.end('two\n');
    const res = await rc.result;
    expect(res.stdout.toString()).toContain('got one\ngot two\nbye\n');
    expect(JSON.parse(res.error).status).toBe('Success');
  });

  describe('PortForward', () => {
    let pod: string;

    beforeAll(async () => {
      pod = await fx.sandbox('pod');
      // Bound to the pod's loopback only: reachable solely from inside its network namespace.
      await fx.inPod(pod, 'web', [
        'sh',
        '-c',
        'mkdir -p /www && echo hello-from-pod > /www/index.html && exec httpd -f -p 127.0.0.1:8080 -h /www',
      ]);
    });

    const pfUrl = async (): Promise<string> =>
      (await shim.client.rt<Url>('PortForward', { pod_sandbox_id: pod, port: [8080] })).url;

    function forward(session: SpdySession, port: number, requestId: number) {
      const error = session.openStream({
        streamtype: ['error'],
        port: [String(port)],
        requestid: [String(requestId)],
      });
      error.end();
      const data = session.openStream({
        streamtype: ['data'],
        port: [String(port)],
        requestid: [String(requestId)],
      });
      return { error: collect(error), data, body: collect(data) };
    }

    it('reaches a server listening only on 127.0.0.1 inside the pod, two connections at once', async () => {
      const conn = await spdyConnect(await pfUrl(), ['portforward.k8s.io']);
      expect(conn.status).toBe(101);
      expect(conn.protocol).toBe('portforward.k8s.io');
      const session = conn.session!;
      const a = forward(session, 8080, 0);
      const b = forward(session, 8080, 1);
      // Both connections are open before either request completes.
      a.data.write('GET /index.html HTTP/1.0\r\n');
      b.data.write('GET /index.html HTTP/1.0\r\n');
      await eventually(async () => (await session.ping(), true));
      b.data.end('\r\n');
      a.data.end('\r\n');
      const [bodyA, bodyB] = await Promise.all([a.body, b.body]);
      expect(bodyA.toString()).toMatch(/^HTTP\/1\.[01] 200/);
      expect(bodyA.toString()).toContain('hello-from-pod');
      expect(bodyB.toString()).toContain('hello-from-pod');
      expect((await a.error).toString()).toBe('');
      await session.close();
    });

    it('says so on the error stream when nothing listens on the port', async () => {
      const conn = await spdyConnect(await pfUrl(), ['portforward.k8s.io']);
      const c = forward(conn.session!, 9, 0);
      c.data.end();
      const err = (await c.error).toString();
      expect(err).toMatch(/error forwarding port 9 to pod/);
      expect(err).toMatch(/ECONNREFUSED/);
      await conn.session!.close();
    });

    it('rejects a sandbox that is not one, and a bad port', async () => {
      expect((await grpcError(shim.client.rt('PortForward', { pod_sandbox_id: box, port: [80] }))).code).toBe(
        status.NOT_FOUND,
      );
      expect(
        (await grpcError(shim.client.rt('PortForward', { pod_sandbox_id: pod, port: [70000] }))).code,
      ).toBe(status.INVALID_ARGUMENT);
    });
  });

  it('answers a plain GET without upgrade with 400, an unknown path with 404', async () => {
    const url = await execUrl(['true']);
    const get = (u: string) =>
      new Promise<number>((resolve, reject) =>
        http.get(u, (res) => (res.resume(), resolve(res.statusCode ?? 0))).on('error', reject),
      );
    expect(await get(url)).toBe(400);
    expect(await get(url)).toBe(404);
    expect(await get(new URL('/nothing', url).toString())).toBe(404);
  });
});
