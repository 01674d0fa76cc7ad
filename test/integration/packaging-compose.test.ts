import { execFile, execFileSync } from 'child_process';
import crypto from 'crypto';
import fs from 'fs';
import net from 'net';
import os from 'os';
import path from 'path';
import { promisify } from 'util';
import { CriClient } from '../support/cri-client';
import { podConfig, removeTestPods, testDocker } from '../support/pod-config';
import { collect, remoteCommand, spdyConnect } from '../support/spdy-client';

/**
 * The developer path of the README: an image built offline from the Dockerfile (local base image,
 * the host's node_modules, no network in the build), `docker-compose up`, a CRI client on the host
 * socket, the compose smoke profile, and `docker-compose down` leaving nothing behind.
 */
const ROOT = path.resolve(__dirname, '../..');
const run = promisify(execFile);
const id = crypto.randomBytes(4).toString('hex');
const project = `dcri-pkg-${id}`;
const image = `docker-cri:pkgtest-${id}`;
const docker = testDocker();

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`${what}: not within ${ms / 1000}s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('docker-compose: docker-cri in a container on the host engine', () => {
  let runDir: string;
  let logRoot: string;
  let env: NodeJS.ProcessEnv;
  let client: CriClient | undefined;
  let sock: string;
  const startedAt = Math.floor(Date.now() / 1000) - 1;
  const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT }).toString().trim();

  const compose = (args: string[], timeout = 600_000) =>
    run('docker-compose', ['-p', project, ...args], { cwd: ROOT, env, timeout, maxBuffer: 64 << 20 });

  beforeAll(async () => {
    runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dcri-compose-'));
    sock = path.join(runDir, 'docker-cri.sock');
    logRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'dcri-compose-logs-'));
    const base = (
      await run('bash', [path.join(ROOT, 'scripts/build-base-image.sh')], { env: process.env })
    ).stdout.trim();
    env = {
      ...process.env,
      BASE_IMAGE: base,
      DOCKER_CRI_IMAGE: image,
      GIT_COMMIT: commit,
      BUILD_NETWORK: 'none',
      DOCKER_SOCKET: process.env.DOCKER_HOST!.replace(/^unix:\/\//, ''),
      DOCKER_CRI_RUN_DIR: runDir,
      POD_LOG_DIR: logRoot,
      STREAMING_PORT: String(await freePort()),
      LOG_LEVEL: 'info',
    };
    await compose(['build', '--force-rm']);
    await compose(['up', '-d']);
    await waitFor(() => fs.existsSync(sock), 60_000, `CRI socket at ${sock}`);
    client = new CriClient(sock);
  }, 900_000);

  afterAll(async () => {
    if (client) {
      await removeTestPods(client);
      client.close();
    }
    await compose(['--profile', 'smoke', 'down', '--remove-orphans', '--timeout', '15']).catch(
      () => undefined,
    );
    await docker
      .getImage(image)
      .remove({ force: true })
      .catch(() => undefined);
    // The classic builder keeps the build stage's layers as untagged images: remove ours.
    const stages = await docker.listImages({
      filters: { dangling: ['true'], label: ['io.docker-cri.stage=build'] },
    });
    for (const s of stages.filter((i) => i.Created >= startedAt)) {
      await docker
        .getImage(s.Id)
        .remove({ force: true })
        .catch(() => undefined);
    }
    fs.rmSync(runDir, { recursive: true, force: true });
    fs.rmSync(logRoot, { recursive: true, force: true });
  }, 120_000);

  it('serves CRI on the host folder socket: Version and a pod on the host engine', async () => {
    expect(fs.statSync(sock).mode & 0o777).toBe(0o660);
    const v = await client!.rt<{ runtime_name: string; runtime_api_version: string }>('Version', {});
    expect(v).toMatchObject({ runtime_name: 'docker', runtime_api_version: 'v1' });

    const cfg = podConfig('compose');
    const { pod_sandbox_id: podId } = await client!.rt<{ pod_sandbox_id: string }>('RunPodSandbox', {
      config: cfg,
    });
    const st = await client!.rt<{ status: { state: string } }>('PodSandboxStatus', { pod_sandbox_id: podId });
    expect(st.status.state).toBe('SANDBOX_READY');
    // The pod is a container of the host engine, not of the compose project.
    const info = await docker.getContainer(podId).inspect();
    expect(info.Name).toBe(`/k8s_POD_${cfg.metadata.name}_dcri-test_${cfg.metadata.uid}_0`);
    expect(info.Config.Labels['com.docker.compose.project']).toBeUndefined();

    await client!.rt('StopPodSandbox', { pod_sandbox_id: podId });
    await client!.rt('RemovePodSandbox', { pod_sandbox_id: podId });
    await expect(docker.getContainer(podId).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });

  it('streams through the published loopback port (Exec, PortForward) and writes logs on the host', async () => {
    const c = client!;
    const cfg = podConfig('compose-ctr', { log_directory: path.join(logRoot, 'pod') });
    // the kubelet makes the container's log directory before CreateContainer
    fs.mkdirSync(path.join(logRoot, 'pod', 'web'), { recursive: true });
    const { pod_sandbox_id: podId } = await c.rt<{ pod_sandbox_id: string }>('RunPodSandbox', {
      config: cfg,
    });
    const { container_id: ctr } = await c.rt<{ container_id: string }>('CreateContainer', {
      pod_sandbox_id: podId,
      sandbox_config: cfg,
      config: {
        metadata: { name: 'web', attempt: 0 },
        image: { image: 'busybox:latest' },
        command: ['sh', '-c', 'echo ready; echo compose-ok >/tmp/index.html; exec httpd -f -p 8080 -h /tmp'],
        labels: { 'io.kubernetes.container.name': 'web', 'dcri-test': 'yes' },
        log_path: 'web/0.log',
        linux: {},
      },
    });
    await c.rt('StartContainer', { container_id: ctr });

    const exec = await c.rt<{ url: string }>('Exec', {
      container_id: ctr,
      cmd: ['echo', 'hi'],
      stdout: true,
    });
    expect(exec.url.startsWith(`http://127.0.0.1:${env.STREAMING_PORT}/`)).toBe(true);
    const session = await remoteCommand(exec.url, { stderr: false });
    const result = await session.result;
    expect(result.stdout.toString()).toBe('hi\n');
    await session.session.close();

    const pf = await c.rt<{ url: string }>('PortForward', { pod_sandbox_id: podId, port: [8080] });
    expect(pf.url.startsWith(`http://127.0.0.1:${env.STREAMING_PORT}/`)).toBe(true);
    const conn = await spdyConnect(pf.url, ['portforward.k8s.io']);
    expect(conn.status).toBe(101);
    const pfSession = conn.session!;
    const errStream = pfSession.openStream({ streamtype: ['error'], port: ['8080'], requestid: ['0'] });
    await errStream.waitReply();
    errStream.end();
    const data = pfSession.openStream({ streamtype: ['data'], port: ['8080'], requestid: ['0'] });
    await data.waitReply();
    data.end('GET /index.html HTTP/1.0\r\n\r\n');
    expect((await collect(data)).toString()).toContain('compose-ok');
    await pfSession.close();

    // The container's output reached the host path the client named, in CRI format.
    const logFile = path.join(logRoot, 'pod', 'web/0.log');
    await waitFor(
      () => fs.existsSync(logFile) && fs.readFileSync(logFile, 'utf8').includes('ready'),
      30_000,
      logFile,
    );
    expect(fs.readFileSync(logFile, 'utf8')).toMatch(/^\S+ stdout F ready$/m);

    await c.rt('RemovePodSandbox', { pod_sandbox_id: podId });
  });

  it('bakes the git commit into the image for --version', async () => {
    const out = await run('docker', ['run', '--rm', '--network', 'none', image, '--version'], {
      env: process.env,
    });
    expect(out.stdout.trim()).toBe(`docker-cri 0.1.0 (commit ${commit}, CRI v1)`);
  });

  it('logs JSON lines to the container output', async () => {
    const { stdout } = await compose(['logs', '--no-color', 'docker-cri']);
    const lines = stdout
      .split('\n')
      .map((l) => l.replace(/^[^|]*\|\s?/, '').trim())
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { message: string; method?: string });
    expect(lines.some((l) => l.message === 'serving CRI')).toBe(true);
    // Mutations are logged at the default level; read-only calls such as Version only at debug.
    expect(lines.some((l) => l.message === 'cri call' && l.method === 'RunPodSandbox')).toBe(true);
  });

  it('runs the smoke profile: a CRI client in a second container reports the runtime ready', async () => {
    const { stdout } = await compose(['--profile', 'smoke', 'run', '--rm', 'smoke']);
    const report = JSON.parse(stdout.trim().split('\n').pop()!) as { ready: boolean; runtime: string };
    expect(report.ready).toBe(true);
    expect(report.runtime).toMatch(/^docker \d+\./);
  });

  it('publishes the streaming port on loopback only', async () => {
    const [c] = await docker.listContainers({
      filters: { label: [`com.docker.compose.project=${project}`, 'com.docker.compose.service=docker-cri'] },
    });
    // EXPOSE 10010 of the image shows up unpublished; what is published is the port, on loopback only.
    expect(c.Ports.filter((p) => p.PublicPort !== undefined)).toEqual([
      expect.objectContaining({
        IP: '127.0.0.1',
        PrivatePort: Number(env.STREAMING_PORT),
        PublicPort: Number(env.STREAMING_PORT),
      }),
    ]);
  });

  it('docker-compose down leaves nothing of the project and removes the socket', async () => {
    await compose(['--profile', 'smoke', 'down', '--remove-orphans', '--timeout', '15']);
    const label = `com.docker.compose.project=${project}`;
    expect(await docker.listContainers({ all: true, filters: { label: [label] } })).toEqual([]);
    expect(await docker.listNetworks({ filters: { label: [label] } })).toEqual([]);
    // SIGTERM reached docker-cri: it shut down cleanly and took its socket with it.
    expect(fs.existsSync(sock)).toBe(false);
  });
});
