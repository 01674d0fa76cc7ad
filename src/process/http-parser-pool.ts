/**
 * Bounds the pool Node keeps of its HTTP/1 parsers.
 *
 * Every Docker call is an HTTP/1 request on a socket of its own, and each takes a parser from a pool
 * in node's `_http_common` (a FreeList) and puts it back when the response ends. The pool keeps up
 * to 1000 of them, so it holds as many parsers as there were Docker calls at once at the busiest
 * moment the process has seen, for the rest of its life. Each one is about 10 KiB of malloc'd
 * memory that no collection frees. Under a real kubelet (heaptrack on the shipped executable,
 * `npm run e2e -- --density`), starting 110 pods × 2 made 179 new parsers, 1.81 MiB, and the
 * removal raised the count to about 226: most of the native memory still in use once the pods were
 * gone. Past the bound, node closes a returned parser instead of keeping it, so a burst costs a few
 * microseconds per parser made afresh and leaves nothing behind.
 */
import { createRequire } from 'module';

/** The part of node's FreeList this reads and sets. */
interface ParserPool {
  max: number;
  list: Array<{ close?: () => void }>;
}

/**
 * How many parsers stay pooled: more than a steady node has Docker calls open at once (the
 * kubelet's lists, statuses and log checks), so a steady node makes none, far fewer than a burst
 * of pod starts or removals has.
 */
export const PARSER_POOL_MAX = 32;

function isParserPool(x: unknown): x is ParserPool {
  const p = x as Partial<ParserPool> | undefined;
  return typeof p === 'object' && p !== null && typeof p.max === 'number' && Array.isArray(p.list);
}

/** Node's own pool; undefined where this node keeps none there (the module or field changed). */
export function nodeParserPool(): ParserPool | undefined {
  try {
    // Through createRequire, as libc.ts loads node:ffi: a single executable's own require may
    // refuse built-ins it was not bundled with.
    const common = createRequire(__filename)('_http_common') as { parsers?: unknown };
    return isParserPool(common.parsers) ? common.parsers : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Lowers `pool`'s bound to `max` and closes the parsers it already holds beyond it (their native
 * memory goes at once, not at some later collection). Returns the bound it had, or undefined when
 * there is no pool (then nothing was changed).
 */
export function boundParserPool(
  pool: ParserPool | undefined,
  max: number = PARSER_POOL_MAX,
): number | undefined {
  if (!pool) return undefined;
  const before = pool.max;
  pool.max = Math.min(before, max);
  for (const parser of pool.list.splice(pool.max)) parser.close?.();
  return before;
}
