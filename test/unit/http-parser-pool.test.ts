import fs from 'fs';
import http from 'http';
import os from 'os';
import path from 'path';
import { boundParserPool, nodeParserPool, PARSER_POOL_MAX } from '../../src/process/http-parser-pool';

/**
 * The bound on node's pool of HTTP/1 parsers: what it keeps and closes, and, on this node, that a
 * burst of concurrent requests (as Docker calls are) leaves no more than the bound pooled.
 */
describe('boundParserPool', () => {
  const parser = () => ({
    closed: false,
    close(this: { closed: boolean }) {
      this.closed = true;
    },
  });
  const cases: Array<{
    name: string;
    max: number;
    poolMax: number;
    held: number;
    wantMax: number;
    wantKept: number;
  }> = [
    {
      name: 'holding more than the bound: the rest closed',
      max: 4,
      poolMax: 1000,
      held: 10,
      wantMax: 4,
      wantKept: 4,
    },
    { name: 'holding fewer: all kept', max: 4, poolMax: 1000, held: 2, wantMax: 4, wantKept: 2 },
    { name: 'a pool already bounded lower stays so', max: 32, poolMax: 8, held: 8, wantMax: 8, wantKept: 8 },
    { name: 'a bound of none keeps none', max: 0, poolMax: 1000, held: 3, wantMax: 0, wantKept: 0 },
  ];
  it.each(cases)('$name', ({ max, poolMax, held, wantMax, wantKept }) => {
    const all = Array.from({ length: held }, parser);
    const pool = { max: poolMax, list: [...all] };
    expect(boundParserPool(pool, max)).toBe(poolMax);
    expect(pool.max).toBe(wantMax);
    expect(pool.list).toEqual(all.slice(0, wantKept));
    expect(all.filter((p) => p.closed)).toHaveLength(held - wantKept);
  });

  it('changes nothing where node keeps no pool', () => {
    expect(boundParserPool(undefined, 4)).toBeUndefined();
  });

  it('finds node’s own pool on this node', () => {
    const pool = nodeParserPool();
    expect(pool).toBeDefined();
    expect(pool!.max).toBeGreaterThanOrEqual(PARSER_POOL_MAX);
  });
});

describe("node's parser pool under a burst of requests", () => {
  let dir: string;
  let server: http.Server;
  let sock: string;
  const pool = nodeParserPool()!;
  let savedMax: number;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parser-pool-'));
    sock = path.join(dir, 's.sock');
    // Answers when all of a burst's requests are open, so each holds its parser at the same time.
    server = http.createServer((_req, res) => setTimeout(() => res.end('ok'), 50));
    await new Promise<void>((resolve) => server.listen(sock, resolve));
    savedMax = pool.max;
  });
  afterAll(async () => {
    pool.max = savedMax;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** `n` requests at once, as many Docker calls at once are, each on a socket of its own. */
  async function burst(n: number): Promise<void> {
    await Promise.all(
      Array.from(
        { length: n },
        () =>
          new Promise<void>((resolve, reject) => {
            const req = http.request({ socketPath: sock, path: '/', agent: false }, (res) => {
              res.resume();
              res.on('end', resolve);
            });
            req.on('error', reject);
            req.end();
          }),
      ),
    );
    // Parsers go back to the pool as their sockets close.
    await new Promise((r) => setTimeout(r, 100));
  }

  it('keeps one parser per request of the burst without the bound, at most the bound with it', async () => {
    pool.list.splice(0).forEach((p) => p.close?.());
    await burst(60);
    expect(pool.list.length).toBeGreaterThanOrEqual(40);

    boundParserPool(pool, 8);
    expect(pool.list.length).toBeLessThanOrEqual(8);
    await burst(60);
    expect(pool.list.length).toBeLessThanOrEqual(8);
    expect(pool.list.length).toBeGreaterThan(0);
  });
});
