import fs from 'fs';
import http from 'http';
import os from 'os';
import path from 'path';
import { status } from '@grpc/grpc-js';
import type { CheckpointContainerRequest__Output } from '../../src/generated/runtime/v1/CheckpointContainerRequest';
import type { ExecSyncRequest__Output } from '../../src/generated/runtime/v1/ExecSyncRequest';
import type { StopContainerRequest__Output } from '../../src/generated/runtime/v1/StopContainerRequest';
import { MAX_TIMER_MS, clampDelay, isUnbounded, setClampedTimeout } from '../../src/concurrency/timer';
import { DockerClient, withTimeout } from '../../src/docker/client';
import { checkpointContainer } from '../../src/runtime/checkpoint';
import { MAX_GRACE_SECONDS, stopContainer } from '../../src/runtime/container-stop';
import { execSync } from '../../src/runtime/exec-sync';
import { callContext, criRequest, failure, fakeDeps } from '../support/fake-deps';
import { runningContainer, withImages } from '../support/cri-fixtures';

/** Far beyond what a Node timer holds: unclamped, it fires after 1 ms. */
const HUGE_SECONDS = 2 ** 40;

describe('clampDelay', () => {
  it.each([
    [0, 0],
    [-5, 0],
    [Number.NaN, 0],
    [1.2, 2],
    [1000, 1000],
    [MAX_TIMER_MS, MAX_TIMER_MS],
    [MAX_TIMER_MS + 1, MAX_TIMER_MS],
    [2 ** 40 * 1000, MAX_TIMER_MS],
    [Number.POSITIVE_INFINITY, MAX_TIMER_MS],
  ])('%d ms → %d ms', (ms, want) => {
    expect(clampDelay(ms)).toBe(want);
  });

  it('calls the largest delays unbounded', () => {
    expect(isUnbounded(MAX_TIMER_MS - 1)).toBe(false);
    expect(isUnbounded(MAX_TIMER_MS)).toBe(true);
    expect(isUnbounded(Number.POSITIVE_INFINITY)).toBe(true);
  });

  it('a clamped timer with a huge delay does not fire early (unclamped it fires after 1 ms)', async () => {
    let fired = false;
    const t = setClampedTimeout(() => (fired = true), 2 ** 40);
    await new Promise((r) => setTimeout(r, 30));
    clearTimeout(t);
    expect(fired).toBe(false);
  });
});

describe('withTimeout and DockerClient.call with a huge deadline', () => {
  it('withTimeout waits for the answer', async () => {
    const late = new Promise<string>((r) => setTimeout(() => r('answer'), 30));
    await expect(withTimeout(late, HUGE_SECONDS * 1000, 'docker x')).resolves.toBe('answer');
  });

  it('call() waits for the answer instead of failing DEADLINE_EXCEEDED at once', async () => {
    const client = new DockerClient('unix:///nonexistent/docker.sock', 1000);
    const late = (): Promise<string> => new Promise((r) => setTimeout(() => r('answer'), 30));
    await expect(client.call('container.stop', 'container "x"', late, HUGE_SECONDS * 1000)).resolves.toBe(
      'answer',
    );
  });
});

describe('DockerClient: deadlines longer than the call timeout', () => {
  const idle = (d: unknown): number | undefined => (d as { modem: { timeout?: number } }).modem.timeout;

  it('runs them on a client whose socket idle timeout outlasts the deadline', () => {
    const client = new DockerClient('unix:///nonexistent/docker.sock', 5000);
    expect(client.clientFor(5000)).toBe(client.api);
    expect(idle(client.api)).toBe(35_000);
    for (const deadline of [5001, 40_000, 330_000, 3_600_000, 30 * 86_400_000 - 1]) {
      const d = client.clientFor(deadline);
      expect(d).not.toBe(client.api);
      const t = idle(d);
      if (t !== undefined) expect(t).toBeGreaterThan(deadline);
    }
    // One client per class: a kubelet's many grace periods make few clients.
    expect(client.clientFor(300_000)).toBe(client.clientFor(330_000));
    // A deadline no timer holds: no idle timeout at all (Node would cut a longer one).
    expect(idle(client.clientFor(HUGE_SECONDS * 1000))).toBeUndefined();
  });

  describe('against an engine that answers a stop late', () => {
    let dir: string;
    let server: http.Server;
    let sock: string;
    beforeAll(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dcri-slow-engine-'));
      sock = path.join(dir, 'docker.sock');
      // Silent for 600 ms, then 204: a stop whose grace period runs.
      server = http.createServer((_req, res) => {
        setTimeout(() => {
          res.statusCode = 204;
          res.end();
        }, 600);
      });
      await new Promise<void>((r) => server.listen(sock, r));
    });
    afterAll(async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('a call with a longer deadline outlasts the call-timeout client’s idle timeout', async () => {
      // Call timeout 100 ms, backstop 100 ms: the api client hangs up after 200 ms of silence.
      const client = new DockerClient(`unix://${sock}`, 100, 100);
      await expect(
        client.call('container.stop', 'container "x"', (d) => d.getContainer('x').stop({ t: 1 }), 2000),
      ).resolves.toBeDefined();
      // The same silence on the api client is cut (by the deadline or the idle timeout).
      await expect(
        client.call('container.stop', 'container "x"', (d) => d.getContainer('x').stop({ t: 1 }), 100),
      ).rejects.toBeDefined();
    });
  });
});

describe('handlers with a huge timeout', () => {
  it('StopContainer: the grace and the deadline passed on fit a timer; the stop succeeds', async () => {
    const world = withImages(fakeDeps());
    const { id } = await runningContainer(world);
    const spy = jest.spyOn(world.fake, 'stopContainer');
    await stopContainer(world.deps)(
      criRequest<StopContainerRequest__Output>('StopContainerRequest', {
        container_id: id,
        timeout: HUGE_SECONDS,
      }),
      callContext(),
    );
    const [, grace, opts] = spy.mock.calls[0];
    expect(grace).toBe(MAX_GRACE_SECONDS);
    expect(opts?.timeoutMs).toBeLessThanOrEqual(MAX_TIMER_MS);
    expect(world.fake.containers.get(id)?.state.Running).toBe(false);
  });

  it('ExecSync: a command shorter than a huge timeout finishes (unclamped, killed after 1 ms)', async () => {
    const world = withImages(fakeDeps());
    const { id } = await runningContainer(world);
    world.fake.execScript = () => ({ stdout: 'done\n', durationMs: 100 });
    const res = await execSync(world.deps)(
      criRequest<ExecSyncRequest__Output>('ExecSyncRequest', {
        container_id: id,
        cmd: ['sleep', '0.1'],
        timeout: HUGE_SECONDS,
      }),
      callContext(),
    );
    expect(Buffer.from(res.stdout as Buffer).toString()).toBe('done\n');
    expect(res.exit_code).toBe(0);
  });

  it('CheckpointContainer: the deadline passed on fits a timer', async () => {
    const world = withImages(
      fakeDeps({ rootDirectory: fs.mkdtempSync(path.join(os.tmpdir(), 'dcri-ckpt-')) }),
    );
    world.fake.engineInfo = { ...world.fake.engineInfo, ExperimentalBuild: true };
    const { id } = await runningContainer(world);
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'dcri-criu-'));
    fs.writeFileSync(path.join(bin, 'criu'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    const saved = process.env.PATH;
    process.env.PATH = `${bin}:${saved ?? ''}`;
    const spy = jest.spyOn(world.fake, 'checkpointContainer');
    try {
      const location = path.join(bin, 'out.tar');
      await checkpointContainer(world.deps)(
        criRequest<CheckpointContainerRequest__Output>('CheckpointContainerRequest', {
          container_id: id,
          location,
          timeout: HUGE_SECONDS,
        }),
        callContext(),
      );
      expect(spy.mock.calls[0][3]?.timeoutMs).toBe(MAX_TIMER_MS);
      expect(fs.existsSync(location)).toBe(true);
    } finally {
      process.env.PATH = saved;
      fs.rmSync(bin, { recursive: true, force: true });
      fs.rmSync(world.deps.config.rootDirectory, { recursive: true, force: true });
    }
  });

  it('StopContainer: a timeout that is no integer is still INVALID_ARGUMENT', async () => {
    const world = withImages(fakeDeps());
    const f = await failure(
      stopContainer(world.deps)(
        criRequest<StopContainerRequest__Output>('StopContainerRequest', {
          container_id: 'x',
          timeout: '99999999999999999999',
        }),
        callContext(),
      ),
    );
    expect(f.code).toBe(status.INVALID_ARGUMENT);
  });
});
