/**
 * Go's time.Duration text (what cri-dockerd's flags take: `1m0s`, `90s`, `1h30m`, `500ms`), in
 * seconds. Pure. A bare number is read as seconds, which is how docker-cri's own flags were first
 * written; Go itself takes a bare number only for "0".
 */
const UNIT_SECONDS: Record<string, number> = {
  ns: 1e-9,
  us: 1e-6,
  µs: 1e-6,
  μs: 1e-6,
  ms: 1e-3,
  s: 1,
  m: 60,
  h: 3600,
};

// µ (U+00B5) and μ (U+03BC) are escaped: esbuild copies a regular expression's characters as
// written, and one character above U+00FF in the bundle makes V8 hold the whole 1.2 MB source of
// the single executable as a two-byte string (1.2 MiB more resident; scripts/package-sea.sh checks).
export function parseGoDuration(text: string): number | undefined {
  const s = text.trim();
  if (/^[-+]?\d+(\.\d+)?$/.test(s)) return Number(s);
  const m = /^([-+]?)((?:(?:\d+\.?\d*|\.\d+)(?:ns|us|\u00b5s|\u03bcs|ms|s|m|h))+)$/.exec(s);
  if (!m) return undefined;
  let total = 0;
  for (const part of m[2].matchAll(/(\d+\.?\d*|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)/g)) {
    total += Number(part[1]) * UNIT_SECONDS[part[2]];
  }
  // Sub-nanosecond noise from the float sums is not a duration anyone wrote.
  total = Math.round(total * 1e9) / 1e9;
  return m[1] === '-' ? -total : total;
}

/** Seconds as Go prints a duration (60 → "1m0s", 0.5 → "500ms"), for --help's defaults. Pure. */
export function formatGoDuration(seconds: number): string {
  if (seconds === 0) return '0s';
  if (seconds < 1) {
    const ms = seconds * 1000;
    return ms >= 1 ? `${trim(ms)}ms` : `${trim(ms * 1000)}µs`;
  }
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds - h * 3600) / 60);
  const s = seconds - h * 3600 - m * 60;
  if (h > 0) return `${h}h${m}m${trim(s)}s`;
  if (m > 0) return `${m}m${trim(s)}s`;
  return `${trim(s)}s`;
}

function trim(n: number): string {
  return String(Math.round(n * 1e9) / 1e9);
}
