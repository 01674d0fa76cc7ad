import { httpGet } from '../support/http-get';

/** The endpoint's text. */
const scrape = async (url: string): Promise<string> => (await httpGet(url)).body;

/** Each case gets a fresh copy of the metrics modules: whether prom-client loaded is per process. */
function freshMetrics(): typeof import('../../src/metrics') {
  let mod: typeof import('../../src/metrics') | undefined;
  jest.isolateModules(() => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a fresh copy per case
    mod = require('../../src/metrics') as typeof import('../../src/metrics');
  });
  return mod as typeof import('../../src/metrics');
}

describe('metrics without and with an endpoint', () => {
  it('keeps nothing and loads no prom-client until an endpoint is served', () => {
    jest.isolateModules(() => {
      // Any load of prom-client in here fails the case.
      jest.doMock('prom-client', () => {
        throw new Error('prom-client was loaded');
      });
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- a fresh copy per case
      const m = require('../../src/metrics') as typeof import('../../src/metrics');
      m.metrics.logPumpBytes('stdout', 10);
      m.metrics.logPumpLag(0.1);
      m.metrics.logPumpStarted()();
      m.metrics.streamingSessionStarted('exec')();
      expect(m.metricsRegistry()).toBeUndefined();
      jest.dontMock('prom-client');
    });
  });

  it.each([
    ['log pumps', 'docker_cri_log_pumps 2'],
    ['streaming sessions', 'docker_cri_streaming_sessions{kind="attach"} 1'],
  ])('counts open %s from before the endpoint came up', async (_what, line) => {
    const m = freshMetrics();
    const endPump = m.metrics.logPumpStarted();
    m.metrics.logPumpStarted();
    m.metrics.streamingSessionStarted('attach');
    m.metrics.logPumpStarted()(); // opened and closed before: not counted
    const server = await m.startMetricsServer('127.0.0.1:0');
    try {
      expect(m.metricsRegistry()).toBeDefined();
      expect((await scrape(server.url)).split('\n')).toContain(line);
      endPump();
      endPump(); // once only
      expect((await scrape(server.url)).split('\n')).toContain(
        line.startsWith('docker_cri_log_pumps') ? 'docker_cri_log_pumps 1' : line,
      );
    } finally {
      await server.close();
    }
  });
});
