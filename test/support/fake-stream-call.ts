import { EventEmitter } from 'events';
import type { status } from '@grpc/grpc-js';

/**
 * A server-streaming call as grpc-js hands it to a handler: it takes every write at once (the
 * callback runs on the next turn, as when the connection took the chunk), and 'finish' follows end().
 */
export class FakeServerStream<Req> extends EventEmitter {
  readonly writes: Array<Record<string, object[]>> = [];
  ended = false;
  writableFinished = false;

  constructor(readonly request: Req) {
    super();
  }

  write(msg: Record<string, object[]>, cb: () => void): boolean {
    this.writes.push(msg);
    setImmediate(cb);
    return true;
  }

  end(): void {
    this.ended = true;
    setImmediate(() => {
      this.writableFinished = true;
      this.emit('finish');
    });
  }

  /** Every item sent, across chunks, from the response's list field. */
  items(field: string): object[] {
    return this.writes.flatMap((w) => w[field] ?? []);
  }
}

/** The error a stream handler emitted on its call. */
export interface StreamFailure {
  code: status;
  details: string;
}

/**
 * Runs `handler` on a FakeServerStream of `request`: resolves with the call once it finished,
 * rejects with the { code, details } the handler emitted as 'error'.
 */
export function runStream<Req>(handler: (call: never) => void, request: Req): Promise<FakeServerStream<Req>> {
  const call = new FakeServerStream(request);
  return new Promise((resolve, reject) => {
    call.on('finish', () => resolve(call));
    call.on('error', (e: StreamFailure) => reject(e));
    handler(call as never);
  });
}
