import WebSocket from 'ws';
import { startShim, type TestShim } from '../support/shim';
import { remoteCommand } from '../support/spdy-client';
import { eventually, StreamingFixtures } from './streaming-fixtures';

interface Url {
  url: string;
}

jest.setTimeout(60_000);

/** What a streaming exec leaves behind when its client is gone. */
describe('streaming exec whose client goes away', () => {
  let shim: TestShim;
  let fx: StreamingFixtures;
  let box: string;

  beforeAll(async () => {
    shim = await startShim();
    fx = new StreamingFixtures(shim.app.docker.api);
    box = await fx.container('hangup', ['sleep', '3600']);
  });
  afterAll(async () => {
    await fx.removeAll();
    await shim.stop();
  });

  const execUrl = async (cmd: string[], extra: object = {}): Promise<string> =>
    (await shim.client.rt<Url>('Exec', { container_id: box, cmd, stdout: true, stderr: true, ...extra })).url;

  /** The command lines of the box's processes, as `ps` in the container lists them. */
  const processes = async (): Promise<string> => {
    const res = await shim.client.rt<{ stdout: Buffer }>('ExecSync', {
      container_id: box,
      cmd: ['ps'],
      timeout: 10,
    });
    return res.stdout.toString();
  };
  const running = async (pattern: RegExp): Promise<boolean> => pattern.test(await processes());

  it('kills the whole process tree when an SPDY client hangs up mid-command', async () => {
    const rc = await remoteCommand(await execUrl(['sh', '-c', 'sleep 300 & sleep 301'], { stdin: true }), {
      stdin: true,
    });
    await eventually(async () => (await running(/sleep 300\b/)) && (await running(/sleep 301\b/)));
    rc.session.destroy();
    await eventually(async () => !(await running(/sleep 30[01]\b/)));
  });

  it('kills a TTY exec too when the client hangs up', async () => {
    const url = (
      await shim.client.rt<Url>('Exec', {
        container_id: box,
        cmd: ['sh', '-c', 'sleep 302 & sleep 303'],
        tty: true,
        stdin: true,
        stdout: true,
      })
    ).url;
    const rc = await remoteCommand(url, { tty: true, stdin: true, stderr: false });
    await eventually(async () => running(/sleep 303\b/));
    rc.session.destroy();
    await eventually(async () => !(await running(/sleep 30[23]\b/)));
  });

  it('kills the process tree when a WebSocket client hangs up', async () => {
    const url = await execUrl(['sh', '-c', 'sleep 304 & sleep 305'], { stdin: true });
    const ws = new WebSocket(url, ['v5.channel.k8s.io']);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    await eventually(async () => running(/sleep 305\b/));
    ws.terminate();
    await eventually(async () => !(await running(/sleep 30[45]\b/)));
  });

  it('lets a non-TTY command run on after its stdin ended', async () => {
    const rc = await remoteCommand(
      await execUrl(['sh', '-c', 'cat >/dev/null; sleep 1; echo still running'], { stdin: true }),
      { stdin: true },
    );
    rc.stdin!.end('input\n');
    const res = await rc.result;
    expect(res.stdout.toString()).toBe('still running\n');
    expect(JSON.parse(res.error)).toEqual({ metadata: {}, status: 'Success' });
  });

  describe('with a short idle timeout', () => {
    let saved: number;
    beforeAll(() => {
      saved = shim.app.deps.streaming!.idleTimeoutMs;
      shim.app.deps.streaming!.idleTimeoutMs = 2000;
    });
    afterAll(() => {
      shim.app.deps.streaming!.idleTimeoutMs = saved;
    });

    it("defaults to the kubelet's 4 hours", () => {
      expect(saved).toBe(4 * 60 * 60 * 1000);
    });

    it('closes a silent SPDY exec and kills its process tree', async () => {
      const rc = await remoteCommand(await execUrl(['sh', '-c', 'sleep 306 & sleep 307'], { stdin: true }), {
        stdin: true,
      });
      await rc.session.closed;
      await eventually(async () => !(await running(/sleep 30[67]\b/)));
    });

    it('closes a silent WebSocket exec and kills its process tree', async () => {
      const url = await execUrl(['sh', '-c', 'sleep 308 & sleep 309'], { stdin: true });
      const ws = new WebSocket(url, ['v5.channel.k8s.io']);
      const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
      ws.on('error', () => undefined);
      await closed;
      await eventually(async () => !(await running(/sleep 30[89]\b/)));
    });

    it('keeps a connection with traffic open past the timeout', async () => {
      const rc = await remoteCommand(
        await execUrl(['sh', '-c', 'for i in $(seq 15); do echo $i; sleep 0.3; done']),
      );
      const res = await rc.result;
      expect(res.stdout.toString().split('\n')).toHaveLength(16);
      expect(JSON.parse(res.error)).toEqual({ metadata: {}, status: 'Success' });
    });
  });
});
