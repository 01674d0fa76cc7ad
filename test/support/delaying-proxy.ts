import fs from 'fs';
import net from 'net';

/**
 * A unix-socket proxy in front of the test engine that holds back the requests matching `slow`
 * (by their request line) for `delayMs` before passing them on: Docker as a busy node's dockerd,
 * slower than the kubelet's deadline. Everything else, answers included, passes at once. Requests
 * on one connection keep their order (a held request holds the ones behind it, as on the wire).
 */
export interface DelayingProxy {
  /** unix://… for docker-cri's --docker-endpoint. */
  endpoint: string;
  /** How long matching requests are held now; change it between calls (0: not at all). */
  delayMs: number;
  /** How many matching requests have passed so far. */
  held: number;
  close(): Promise<void>;
}

export async function startDelayingProxy(
  engineSocket: string,
  proxySocket: string,
  slow: RegExp,
): Promise<DelayingProxy> {
  fs.rmSync(proxySocket, { force: true });
  const conns = new Set<net.Socket>();
  const proxy: DelayingProxy = {
    endpoint: `unix://${proxySocket}`,
    delayMs: 0,
    held: 0,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of conns) c.destroy();
        server.close(() => resolve());
      }),
  };
  const server = net.createServer((client) => {
    const upstream = net.connect(engineSocket);
    conns.add(client).add(upstream);
    let chain = Promise.resolve();
    client.on('data', (chunk: Buffer) => {
      const line = chunk.subarray(0, Math.min(chunk.length, 512)).toString('latin1').split('\r\n')[0];
      const wait = slow.test(line) ? proxy.delayMs : 0;
      if (slow.test(line)) proxy.held++;
      chain = chain
        .then(() => (wait > 0 ? new Promise<void>((r) => setTimeout(r, wait)) : undefined))
        .then(() => {
          if (!upstream.destroyed) upstream.write(chunk);
        });
    });
    upstream.pipe(client);
    const end = (): void => {
      void chain.then(() => {
        client.destroy();
        upstream.destroy();
        conns.delete(client);
        conns.delete(upstream);
      });
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(proxySocket, () => resolve());
  });
  return proxy;
}
