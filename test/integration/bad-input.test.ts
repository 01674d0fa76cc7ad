import fs from 'fs';
import fc from 'fast-check';
import { status } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import { startShim, type TestShim } from '../support/shim';
import { messageArb, requestTypeOf, unaryMethods } from '../support/proto-arbitrary';

/** Codes that mean "the request was wrong" or "not here"; anything else from hostile input is a bug. */
const CLEAR_CODES = new Set([
  status.INVALID_ARGUMENT,
  status.NOT_FOUND,
  status.FAILED_PRECONDITION,
  status.ALREADY_EXISTS,
  status.OUT_OF_RANGE,
  status.UNIMPLEMENTED,
  status.DEADLINE_EXCEEDED,
  status.UNAUTHENTICATED,
  status.PERMISSION_DENIED,
]);

const FUZZ_NAMESPACE = 'dcri-fuzz';

/**
 * Keeps hostile requests from reaching outside this machine and makes whatever they create
 * findable: image pulls go to a closed loopback port, and any pod metadata gets our namespace.
 */
function tame(method: string, req: Record<string, unknown>): Record<string, unknown> {
  const out = { ...req };
  if (method === 'PullImage') {
    const image = out.image as { image?: string } | null | undefined;
    out.image = { ...(image ?? {}), image: `127.0.0.1:1/fuzz/${String(image?.image ?? '')}` };
  }
  for (const key of ['config', 'sandbox_config']) {
    const cfg = out[key] as { metadata?: Record<string, unknown> | null } | null | undefined;
    if (cfg && typeof cfg === 'object' && cfg.metadata && typeof cfg.metadata === 'object') {
      out[key] = { ...cfg, metadata: { ...cfg.metadata, namespace: FUZZ_NAMESPACE } };
    }
  }
  return out;
}

describe('every RPC under generated malformed requests', () => {
  let shim: TestShim;
  beforeAll(async () => {
    shim = await startShim({ dockerCallTimeoutSeconds: 20, imagePullProgressDeadlineSeconds: 5 });
  });
  afterAll(async () => {
    const docker = shim.app.docker.api;
    const left = await docker.listContainers({ all: true, filters: { name: [`_${FUZZ_NAMESPACE}_`] } });
    for (const c of left) await docker.getContainer(c.Id).remove({ force: true });
    await shim.stop();
  });

  const services: Array<['runtime' | 'image', string]> = [
    ['runtime', 'RuntimeService'],
    ['image', 'ImageService'],
  ];
  for (const [kind, service] of services) {
    for (const method of unaryMethods(service)) {
      it(`${service}/${method} answers hostile input with a clear error`, async () => {
        const arb = messageArb(requestTypeOf(service, method));
        await fc.assert(
          fc.asyncProperty(arb, async (raw) => {
            const req = tame(method, raw);
            const call =
              kind === 'runtime' ? shim.client.rt(method, req, 30_000) : shim.client.img(method, req, 30_000);
            try {
              await call;
            } catch (err) {
              const e = err as ServiceError;
              // A pull from the closed loopback port is rightly "registry unavailable".
              const pullRefused = method === 'PullImage' && e.code === status.UNAVAILABLE;
              if (!CLEAR_CODES.has(e.code) && !pullRefused) {
                throw new Error(
                  `${method} answered ${status[e.code]}: ${e.details}\nrequest: ${JSON.stringify(req).slice(0, 2000)}`,
                  { cause: err },
                );
              }
              expect(e.details.length).toBeGreaterThan(0);
            }
          }),
          {
            numRuns: Number(process.env.DCRI_FUZZ_RUNS ?? 25),
            seed: Number(process.env.DCRI_FUZZ_SEED ?? Date.now() % 100000),
          },
        );
        // Still serving, and nothing from a shell ever ran.
        await shim.client.rt('Version', {});
        expect(fs.existsSync('/tmp/dcri-pwned')).toBe(false);
      });
    }
  }
});
