import { startShim, type TestShim } from '../support/shim';
import { removeTestPods } from '../support/pod-config';
import { IDLE_BACKSTOP_MS } from '../../src/docker/client';
import { Cri, type Pod } from './container-support';

const CALL_TIMEOUT_S = 5;

/**
 * A stop lasts as long as its grace period. With a 5 s call timeout (short, so the test is), the client
 * for calls within it hangs up after 5 s + the idle backstop (30 s) of silence; a stop whose grace is longer than that
 * must still answer OK once Docker has killed the container (it used to fail UNAVAILABLE "socket
 * hang up" while Docker was still stopping it).
 */
describe('StopContainer with a grace period longer than the socket idle timeout', () => {
  let shim: TestShim;
  let cri: Cri;
  let pod: Pod;

  beforeAll(async () => {
    shim = await startShim({ dockerCallTimeoutSeconds: CALL_TIMEOUT_S });
    cri = new Cri(shim);
    pod = await cri.pod('long-stop');
  });
  afterAll(async () => {
    await removeTestPods(shim.client);
    await shim.stop();
  });

  it('answers OK after the grace period, with the container EXITED', async () => {
    // Ignores SIGTERM: only the SIGKILL at the end of the grace period stops it.
    const id = await cri.run(pod, "trap '' TERM; touch /tmp/trapped; while true; do sleep 1; done");
    // A SIGTERM that came before the shell ran `trap` would end it at once (143), whatever the stop.
    while (!(await cri.sh(id, 'test -f /tmp/trapped && echo yes || true')).includes('yes')) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const graceSeconds = CALL_TIMEOUT_S + Math.ceil(IDLE_BACKSTOP_MS / 1000) + 3;
    await shim.client.rt('StopContainer', { container_id: id, timeout: graceSeconds }, 120_000);
    const { status } = await cri.status(id);
    expect(status.state).toBe('CONTAINER_EXITED');
    // Killed at the end of the grace period: the trap held SIGTERM off for all of it.
    expect(status.exit_code).toBe(137);
  });
});
