/**
 * The longest delay a Node timer keeps (2^31 - 1 ms, about 24.8 days): a longer one, or one that
 * is not a finite number, fires after 1 ms with only a TimeoutOverflowWarning to say so. Every delay
 * that comes from a request, a flag or arithmetic on them goes through clampDelay first.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** `ms` as a delay Node honours: negative or NaN → 0, beyond the largest timer (or ∞) → the largest. */
export function clampDelay(ms: number): number {
  if (Number.isNaN(ms) || ms <= 0) return 0;
  return Math.min(Math.ceil(ms), MAX_TIMER_MS);
}

/** Whether a delay is as good as no deadline: it would be clamped to the largest timer. */
export function isUnbounded(ms: number): boolean {
  return !(ms < MAX_TIMER_MS);
}

/** setTimeout with the delay clamped, so a huge delay waits as long as a timer can, never 1 ms. */
export function setClampedTimeout(fn: () => void, ms: number): NodeJS.Timeout {
  return setTimeout(fn, clampDelay(ms));
}
