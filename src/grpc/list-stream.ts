import { status } from './status-codes';
import { startCall, toStatus, type CallContext } from './handler';
import { encodedItemSize, LIST_FIELDS } from './list-encoding';
import { logger } from '../logger';
import type { StreamHandler } from './server-calls';

/**
 * Payload budget of one chunk. The kubelet's limit is 16 MiB a message; 256 KiB keeps every chunk
 * far below it (about 350 containers) and lets flow control pace us in small steps.
 */
export const CHUNK_BYTES = 256 * 1024;

/**
 * Cuts a sequence of items into consecutive chunks of at most `budget` encoded bytes each (an item
 * larger than the budget travels alone); every item lands in exactly one chunk, in order. Pure.
 */
export class Chunker<T> {
  private pending: T[] = [];
  private bytes = 0;

  constructor(private readonly budget: number) {}

  /** Adds an item of `size` bytes; answers the chunk it closed, if it closed one. */
  add(item: T, size: number): T[] | undefined {
    let full: T[] | undefined;
    if (this.pending.length > 0 && this.bytes + size > this.budget) {
      full = this.pending;
      this.pending = [];
      this.bytes = 0;
    }
    this.pending.push(item);
    this.bytes += size;
    return full;
  }

  /** The last, partly filled chunk (undefined when there is none). */
  rest(): T[] | undefined {
    const out = this.pending.length ? this.pending : undefined;
    this.pending = [];
    this.bytes = 0;
    return out;
  }
}

/** All chunks of `items` at once (see Chunker). Pure. */
export function chunkBySize<T>(items: readonly T[], sizeOf: (item: T) => number, budget: number): T[][] {
  const chunker = new Chunker<T>(budget);
  const chunks: T[][] = [];
  for (const item of items) {
    const full = chunker.add(item, sizeOf(item));
    if (full) chunks.push(full);
  }
  const rest = chunker.rest();
  if (rest) chunks.push(rest);
  return chunks;
}

/** A list stream's handler; the response is `{ <field>: items }`. */
export type ListStreamCall<Req> = StreamHandler<Req, Record<string, object[]>>;

/**
 * What a list stream needs: the items, from the same code as the unary list, all at once or in
 * batches (so that a long list, such as stats, is sent while the rest is still being read, and a
 * cancelled call stops reading).
 */
export type ListProducer<Req, Item> = (req: Req, ctx: CallContext) => Promise<Item[]> | AsyncIterable<Item[]>;

function isBatches<Item>(p: Promise<Item[]> | AsyncIterable<Item[]>): p is AsyncIterable<Item[]> {
  return Symbol.asyncIterator in p;
}

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
      const produced = produce(call.request, { signal: abort.signal });
      const batches = isBatches(produced)
        ? produced
        : (async function* () {
            yield await produced;
          })();
      const chunker = new Chunker<Item>(budget);
      let seen = 0;
      let sent = 0;
      let inFlight = 0;
      let wake: (() => void) | undefined;
      const flushed = (): void => {
        inFlight--;
        wake?.();
      };
      const send = async (chunk: Item[]): Promise<void> => {
        while (inFlight >= IN_FLIGHT && !abort.signal.aborted) {
          await new Promise<void>((resolve) => {
            wake = resolve;
            abort.signal.addEventListener('abort', () => resolve(), { once: true });
          });
        }
        if (abort.signal.aborted) return;
        inFlight++;
        sent += chunk.length;
        if (!call.write({ [field]: chunk }, flushed)) await until(['drain']);
      };
      for await (const batch of batches) {
        for (const item of batch) {
          seen++;
          const full = chunker.add(item, encodedItemSize(itemType, item));
          if (full) await send(full);
          if (abort.signal.aborted) break;
        }
        // Leaving the loop ends the producer too (its generator's return runs).
        if (abort.signal.aborted) break;
      }
      const rest = chunker.rest();
      if (rest && !abort.signal.aborted) await send(rest);
      if (!abort.signal.aborted) {
        call.end();
        await until(['finish']);
      }
      if (abort.signal.aborted && !call.writableFinished) {
        finish(status.CANCELLED, `client went away after ${sent} items were handed over (${seen} read)`);
        return;
      }
      finish(status.OK);
      logger.debug('cri stream sent', { method, items: sent });
    })().catch((err: unknown) => {
      const e = toStatus(err);
      finish(e.code, e.message);
      if (!abort.signal.aborted) call.emit('error', { code: e.code, details: e.message });
    });
  };
}
