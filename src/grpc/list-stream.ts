import type * as grpc from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import { startCall, toStatus, type CallContext } from './handler';
import { encodedItemSize, LIST_FIELDS } from './list-encoding';
import { logger } from '../logger';

/**
 * Payload budget of one chunk. The kubelet's limit is 16 MiB a message; 256 KiB keeps every chunk
 * far below it (about 350 containers) and lets flow control pace us in small steps.
 */
export const CHUNK_BYTES = 256 * 1024;

/**
 * Splits items into consecutive chunks of at most `budget` encoded bytes each (an item larger than
 * the budget travels alone). Every item lands in exactly one chunk, in order. Pure.
 */
export function chunkBySize<T>(items: readonly T[], sizeOf: (item: T) => number, budget: number): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const n = sizeOf(item);
    if (current.length > 0 && bytes + n > budget) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += n;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** A list stream's handler; the response is `{ <field>: items }`. */
export type ListStreamCall<Req> = grpc.handleServerStreamingCall<Req, Record<string, object[]>>;

/** What a list stream needs: the items, from the same code as the unary list. */
export type ListProducer<Req, Item> = (req: Req, ctx: CallContext) => Promise<Item[]>;

/** Chunks handed to the transport and not yet flushed into the connection, at most. */
const IN_FLIGHT = 2;

/**
 * A server stream that answers a list in chunks: the items come from the unary list's own code
 * (same filters, same translation), are cut by encoded size, and are written so that at most
 * IN_FLIGHT chunks wait in the transport: the next one goes out only when the connection (and so
 * the client's HTTP/2 flow-control window) took an earlier one, and never past a `write() === false`
 * until 'drain'. A client that cancels stops the writing at once; nothing is held after the call.
 */
export function listStream<Req, Item extends object>(
  method: keyof typeof LIST_FIELDS,
  produce: ListProducer<Req, Item>,
  budget: number = CHUNK_BYTES,
): ListStreamCall<Req> {
  const { itemType, field } = LIST_FIELDS[method];
  return (call) => {
    const finish = startCall(method, call.request);
    const abort = new AbortController();
    const stop = (): void => abort.abort();
    call.on('cancelled', stop);
    call.on('error', stop);
    call.on('close', stop);
    /** Resolves on the first of `events` on the call, or when the call is cancelled. */
    const until = (events: string[]): Promise<void> =>
      new Promise((resolve) => {
        if (abort.signal.aborted) return resolve();
        const done = (): void => {
          for (const e of events) call.off(e, done);
          abort.signal.removeEventListener('abort', done);
          resolve();
        };
        for (const e of events) call.on(e, done);
        abort.signal.addEventListener('abort', done);
      });

    void (async () => {
      const items = await produce(call.request, { signal: abort.signal });
      const chunks = chunkBySize(items, (item) => encodedItemSize(itemType, item), budget);
      let sent = 0;
      let inFlight = 0;
      const flushed = (): void => {
        inFlight--;
        call.emit('dcri-flushed');
      };
      for (let i = 0; i < chunks.length && !abort.signal.aborted; i++) {
        while (inFlight >= IN_FLIGHT && !abort.signal.aborted) await until(['dcri-flushed']);
        if (abort.signal.aborted) break;
        inFlight++;
        sent += chunks[i].length;
        if (!call.write({ [field]: chunks[i] }, flushed)) await until(['drain']);
      }
      const total = items.length;
      if (!abort.signal.aborted) {
        call.end();
        await until(['finish']);
      }
      if (abort.signal.aborted && !call.writableFinished) {
        finish(status.CANCELLED, `client went away after ${sent} of ${total} items were handed over`);
        return;
      }
      finish(status.OK);
      logger.debug('cri stream sent', { method, items: total });
    })().catch((err: unknown) => {
      const e = toStatus(err);
      finish(e.code, e.message);
      if (!abort.signal.aborted) call.emit('error', { code: e.code, details: e.message });
    });
  };
}
