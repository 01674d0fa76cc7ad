import { execFile, execFileSync } from 'child_process';
import crypto from 'crypto';
import fs from 'fs';
import net from 'net';
import os from 'os';
import path from 'path';
import { promisify } from 'util';
import { CriClient } from '../support/cri-client';
import { podConfig, removeTestPods, testDocker } from '../support/pod-config';

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
    expect(lines.some((l) => l.message === 'cri call' && l.method === 'Version')).toBe(true);
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
    expect(c.Ports).toEqual([
      expect.objectContaining({
        IP: '127.0.0.1',
        PrivatePort: 10010,
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
