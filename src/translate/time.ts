/** CRI timestamps are int64 nanoseconds, carried as decimal strings (they overflow a JS number). */

/** Docker's RFC 3339 (nanosecond) time → ns string; Docker's zero time → "0". */
export function rfc3339ToNanos(t: string | undefined): string {
  if (!t || t.startsWith('0001-01-01')) return '0';
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(t);
  if (!m) {
    const ms = Date.parse(t);
    return Number.isNaN(ms) ? '0' : (BigInt(ms) * 1_000_000n).toString();
  }
  const seconds = BigInt(Math.floor(Date.parse(`${m[1]}${m[3]}`) / 1000));
  const frac = BigInt((m[2] ?? '').padEnd(9, '0').slice(0, 9) || '0');
  return (seconds * 1_000_000_000n + frac).toString();
}

export function secondsToNanos(s: number): string {
  return (BigInt(Math.floor(s)) * 1_000_000_000n).toString();
}

export function nowNanos(): string {
  return (BigInt(Date.now()) * 1_000_000n).toString();
}
