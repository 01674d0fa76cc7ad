import { status } from '@grpc/grpc-js';
import { startShim, type TestShim } from '../support/shim';
import { grpcError } from '../support/cri-client';
import { removeTestPods } from '../support/pod-config';
import { Cri, type Pod } from './container-support';

describe('ExecSync', () => {
  let shim: TestShim;
  let cri: Cri;
  let pod: Pod;
  let id: string;

  beforeAll(async () => {
    shim = await startShim();
    cri = new Cri(shim);
    pod = await cri.pod('exec');
    id = await cri.run(pod, 'sleep 100000');
  });
  afterAll(async () => {
    await removeTestPods(shim.client);
    await shim.stop();
  });

  it('returns stdout and stderr apart, and the exit code', async () => {
    const r = await cri.exec(id, ['sh', '-c', 'echo out; echo err >&2; echo more; exit 7']);
    expect(r.stdout.toString()).toBe('out\nmore\n');
    expect(r.stderr.toString()).toBe('err\n');
    expect(r.exit_code).toBe(7);
    const ok = await cri.exec(id, ['true']);
    expect(ok.exit_code).toBe(0);
    expect(ok.stdout.length).toBe(0);
  });

  it('reports a command that does not exist through its exit code', async () => {
    const r = await cri.exec(id, ['/no/such/command']);
    expect(r.exit_code).not.toBe(0);
  });

  it('kills the command and everything it started when the timeout passes', async () => {
    const started = Date.now();
    const err = await grpcError(
      cri.exec(id, ['sh', '-c', 'sleep 1001 & sleep 1002 & sleep 1003; echo never'], 2),
    );
    const took = Date.now() - started;
    expect(err.code).toBe(status.DEADLINE_EXCEEDED);
    expect(err.details).toContain(id);
    expect(took).toBeGreaterThanOrEqual(1900);
    const ps = await cri.sh(id, 'ps -o pid,args');
    expect(ps).not.toMatch(/sleep 100[123]/);
    expect(ps).toMatch(/sleep 100000/);
  });

  it('kills the command when the client gives up before any timeout of its own', async () => {
    const err = await grpcError(cri.exec(id, ['sh', '-c', 'sleep 1004 & sleep 1005'], 0, 1500));
    expect(err.code).toBe(status.DEADLINE_EXCEEDED);
    // The kill follows the cancellation; look until it has happened (bounded by the test timeout).
    let ps = await cri.sh(id, 'ps -o args');
    while (/sleep 100[45]/.test(ps)) {
      await new Promise((r) => setTimeout(r, 100));
      ps = await cri.sh(id, 'ps -o args');
    }
    expect(ps).toMatch(/sleep 100000/);
  });

  it('caps output at what one answer can carry', async () => {
    const r = await cri.exec(id, ['sh', '-c', 'head -c 20000000 /dev/zero; echo tail >&2'], 60);
    expect(r.exit_code).toBe(0);
    expect(r.stdout.length).toBeLessThanOrEqual(16 * 1024 * 1024);
    expect(r.stdout.length).toBeGreaterThan(16 * 1024 * 1024 - 128 * 1024);
  });

  it('refuses bad requests', async () => {
    expect((await grpcError(cri.exec(id, []))).code).toBe(status.INVALID_ARGUMENT);
    const missing = await grpcError(cri.exec('0'.repeat(64), ['true']));
    expect(missing.code).toBe(status.NOT_FOUND);
    const stopped = await cri.run(pod, 'exit 0');
    await cri.waitExited(stopped);
    const notRunning = await grpcError(cri.exec(stopped, ['true']));
    expect(notRunning.code).toBe(status.FAILED_PRECONDITION);
    expect(notRunning.details).toContain(stopped);
  });
});
