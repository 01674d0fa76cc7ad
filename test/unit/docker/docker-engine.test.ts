import fs from 'fs';
import http from 'http';
import os from 'os';
import path from 'path';
import { status } from '@grpc/grpc-js';
import { DockerClient } from '../../../src/docker/client';
import { DockerEngine } from '../../../src/docker/docker-engine';
import { isNotModified } from '../../../src/docker/errors';
import { CriError } from '../../../src/grpc/status-error';

/** One canned answer of the stand-in engine, by "METHOD /path" (the API version prefix stripped). */
type Answer = { status: number; body?: unknown; delayMs?: number };

/**
 * A stand-in Docker Engine API on a unix socket: answers what each test puts in `answers` and
 * records the requests, so DockerEngine's routes, options, deadline and error mapping are checked
 * without a dockerd.
 */
class StandInEngine {
  readonly answers = new Map<string, Answer>();
  readonly requests: Array<{ route: string; query: string; body: string }> = [];
  readonly socket: string;
  private readonly server: http.Server;
  private readonly dir: string;

  constructor() {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dcri-standin-'));
    this.socket = path.join(this.dir, 'docker.sock');
    this.server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const url = new URL(req.url ?? '/', 'http://x');
        const route = `${req.method} ${url.pathname.replace(/^\/v[\d.]+/, '')}`;
        this.requests.push({ route, query: url.search, body });
        const a = this.answers.get(route) ?? { status: 404, body: { message: `page not found: ${route}` } };
        const send = (): void => {
          res.writeHead(a.status, { 'content-type': 'application/json' });
          res.end(a.body === undefined ? '' : JSON.stringify(a.body));
        };
        if (a.delayMs) setTimeout(send, a.delayMs).unref();
        else send();
      });
    });
  }

  listen(): Promise<void> {
    return new Promise((r) => this.server.listen(this.socket, r));
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

describe('DockerEngine over dockerode', () => {
  const standIn = new StandInEngine();
  let client: DockerClient;
  let engine: DockerEngine;
  const observed: Array<[string, boolean]> = [];
  const ID = 'a'.repeat(64);

  beforeAll(async () => {
    await standIn.listen();
    // A roomy deadline: this machine may be busy, and only one case is about the deadline.
    client = new DockerClient(`unix://${standIn.socket}`, 10_000);
    client.onCall((op, _s, ok) => observed.push([op, ok]));
    engine = new DockerEngine(client);
  });
  afterAll(() => standIn.close());
  beforeEach(() => {
    standIn.answers.clear();
    standIn.requests.length = 0;
    observed.length = 0;
  });

  it('inspects a container and reports the call to the observers', async () => {
    standIn.answers.set(`GET /containers/${ID}/json`, {
      status: 200,
      body: { Id: ID, State: { Running: true } },
    });
    await expect(engine.inspectContainer(ID)).resolves.toMatchObject({ Id: ID });
    expect(observed).toEqual([['container.inspect', true]]);
  });

  it('creates with the name in the query and answers the id', async () => {
    standIn.answers.set('POST /containers/create', { status: 201, body: { Id: ID, Warnings: [] } });
    await expect(engine.createContainer({ name: 'k8s_app', Image: 'busybox' })).resolves.toBe(ID);
    expect(standIn.requests[0].query).toContain('name=k8s_app');
    expect(JSON.parse(standIn.requests[0].body)).toMatchObject({ Image: 'busybox' });
  });

  it('stops with the grace period and removes forced with volumes', async () => {
    standIn.answers.set(`POST /containers/${ID}/stop`, { status: 204 });
    standIn.answers.set(`DELETE /containers/${ID}`, { status: 204 });
    await engine.stopContainer(ID, 7);
    await engine.removeContainer(ID);
    expect(standIn.requests.map((r) => [r.route, r.query])).toEqual([
      [`POST /containers/${ID}/stop`, '?t=7'],
      [`DELETE /containers/${ID}`, expect.stringMatching(/force=true.*v=true|v=true.*force=true/)],
    ]);
  });

  it.each([
    [404, { message: `No such container: ${ID}` }, status.NOT_FOUND],
    [409, { message: 'Conflict. The container name "/x" is already in use' }, status.ALREADY_EXISTS],
    [409, { message: 'removal of container x is already in progress' }, status.FAILED_PRECONDITION],
    [500, { message: 'driver failed' }, status.INTERNAL],
  ])(
    'maps HTTP %d to its gRPC code, naming the object with the engine’s words',
    async (code, body, grpcCode) => {
      standIn.answers.set(`GET /containers/${ID}/json`, { status: code, body });
      const err = await engine
        .inspectContainer(ID, { context: 'pod sandbox "abc"' })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CriError);
      expect((err as CriError).code).toBe(grpcCode);
      expect((err as CriError).message).toBe(`pod sandbox "abc": ${body.message}`);
      expect(observed).toEqual([['container.inspect', false]]);
    },
  );

  it('keeps "not modified" (304) recognizable', async () => {
    standIn.answers.set(`POST /containers/${ID}/start`, { status: 304 });
    const err = await engine.startContainer(ID).catch((e: unknown) => e);
    expect(isNotModified(err)).toBe(true);
  });

  it('fails DEADLINE_EXCEEDED past the call deadline, and honours a longer one when asked', async () => {
    standIn.answers.set(`POST /containers/${ID}/stop`, { status: 204, delayMs: 1000 });
    const hasty = new DockerEngine(new DockerClient(`unix://${standIn.socket}`, 100));
    const err = await hasty.stopContainer(ID, 0).catch((e: unknown) => e);
    expect((err as CriError).code).toBe(status.DEADLINE_EXCEEDED);
    expect((err as CriError).message).toContain(`container "${ID}": docker call timed out`);
    await expect(hasty.stopContainer(ID, 0, { timeoutMs: 30_000 })).resolves.toBeUndefined();
  });

  it('reads engine info and image lists', async () => {
    standIn.answers.set('GET /info', {
      status: 200,
      body: { CgroupDriver: 'systemd', Runtimes: { runc: {} } },
    });
    standIn.answers.set('GET /images/json', { status: 200, body: [{ Id: 'sha256:1', RepoTags: ['a:b'] }] });
    await expect(engine.info()).resolves.toMatchObject({ CgroupDriver: 'systemd' });
    await expect(engine.listImages()).resolves.toEqual([{ Id: 'sha256:1', RepoTags: ['a:b'] }]);
  });

  it('an engine that is not there is UNAVAILABLE', async () => {
    const away = new DockerEngine(new DockerClient('unix:///nonexistent/dcri/docker.sock', 10_000));
    const err = await away.version().catch((e: unknown) => e);
    expect((err as CriError).code).toBe(status.UNAVAILABLE);
    expect((err as CriError).message).toContain('docker engine');
  });
});
