/**
 * glibc functions through Node's node:ffi (Node >= 26; experimental), for the few things node does
 * not offer: malloc_trim and madvise. One loader, so that the experimental warning and the ways it
 * can be missing are handled once.
 */
import { createRequire } from 'module';

/** A C type as node:ffi names it. */
type CType = 'int32' | 'uint64';
/** int32 travels as a number, 64-bit integers as bigint. */
type CValue = number | bigint;
export type CFunction = (...args: CValue[]) => number;

interface Ffi {
  dlopen(
    path: string,
    definitions: Record<string, { arguments: CType[]; return: CType }>,
  ): { functions: Record<string, CFunction | undefined> };
}

/**
 * The named libc functions, or undefined where they cannot be had: not Linux, no node:ffi (Node
 * before 26, or --no-experimental-ffi), no glibc, or a permission model that forbids it.
 */
export function libc<K extends string>(
  definitions: Record<K, { arguments: CType[]; return: CType }>,
): Record<K, CFunction> | undefined {
  if (process.platform !== 'linux') return undefined;
  let ffi: Ffi;
  // Loading node:ffi emits an ExperimentalWarning on stderr: callers say at debug what they got.
  const emitWarning = process.emitWarning;
  process.emitWarning = () => undefined;
  try {
    // Through createRequire, as node:sea in sea.ts: the require a single executable gives its
    // script may refuse scheme-only built-ins.
    ffi = createRequire(__filename)('node:ffi') as Ffi;
  } catch {
    return undefined;
  } finally {
    process.emitWarning = emitWarning;
  }
  try {
    const { functions } = ffi.dlopen('libc.so.6', definitions);
    for (const name of Object.keys(definitions)) {
      if (typeof functions[name] !== 'function') return undefined;
    }
    return functions as Record<K, CFunction>;
  } catch {
    return undefined;
  }
}
