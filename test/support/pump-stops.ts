import type Dockerode from 'dockerode';
import type { LogPump } from '../../src/logs/log-pump';

/**
 * For a LogPump run on its own (no LogManager, so no container index to tell it): tells the pump
 * each time Docker says the container is not running, until the pump ends. Level-triggered on
 * purpose, as a repeated notice is harmless and a missed one would leave the pump waiting.
 */
export function tellStops(pump: LogPump, docker: Dockerode, id: string, everyMs = 50): LogPump {
  let over = false;
  void pump.done.finally(() => (over = true));
  void (async () => {
    while (!over) {
      const running = await docker
        .getContainer(id)
        .inspect()
        .then(
          (i) => i.State.Running || i.State.Restarting,
          () => false,
        );
      if (!running) pump.containerStopped();
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return pump;
}
