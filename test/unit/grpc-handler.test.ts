import { EventEmitter } from 'events';
import type * as grpc from '@grpc/grpc-js';
import { unary, type CallContext } from '../../src/grpc/handler';

/** The part of a grpc-js unary call the wrapper touches. */
class FakeCall extends EventEmitter {
  cancelled = false;
  request = {};
}

function run(
  impl: (req: unknown, ctx: CallContext) => Promise<unknown>,
  call = new FakeCall(),
): { call: FakeCall; answered: Promise<unknown> } {
  const answered = new Promise((resolve) => {
    unary('Version', impl)(call as unknown as grpc.ServerUnaryCall<unknown, unknown>, (err, res) =>
      resolve(err ?? res),
    );
  });
  return { call, answered };
}

describe('unary(): the call context', () => {
  it('a handler that never looks at the signal costs no cancel listener', async () => {
    const { call, answered } = run(async () => ({ version: '1' }));
    expect(call.listenerCount('cancelled')).toBe(0);
    await answered;
    expect(call.listenerCount('cancelled')).toBe(0);
  });

  it.each([
    ['before the first await', false],
    ['after an await', true],
  ])('a signal read %s is aborted when the client cancels', async (_when, later) => {
    let seen: AbortSignal | undefined;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { call, answered } = run(async (_req, ctx) => {
      if (later) await Promise.resolve();
      seen = ctx.signal;
      await gate;
      return {};
    });
    await Promise.resolve();
    await Promise.resolve();
    expect(seen?.aborted).toBe(false);
    call.cancelled = true;
    call.emit('cancelled');
    expect(seen?.aborted).toBe(true);
    release();
    await answered;
    expect(call.listenerCount('cancelled')).toBe(0);
  });

  it('a signal first read after the client cancelled is aborted already', async () => {
    const call = new FakeCall();
    call.cancelled = true;
    let aborted: boolean | undefined;
    const { answered } = run(async (_req, ctx) => {
      aborted = ctx.signal.aborted;
      return {};
    }, call);
    await answered;
    expect(aborted).toBe(true);
  });

  it('the listener goes with a failed call too, and the failure is the answer', async () => {
    const { call, answered } = run(async (_req, ctx) => {
      void ctx.signal;
      throw new Error('boom');
    });
    expect(await answered).toMatchObject({ details: 'boom' });
    expect(call.listenerCount('cancelled')).toBe(0);
  });
});
