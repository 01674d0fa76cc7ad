import fs from 'fs';
import http from 'http';

/** A failed expectation, worded as what the user would have seen. */
export class CheckFailed extends Error {}

export function check(ok: boolean, what: string): asserts ok {
  if (!ok) throw new CheckFailed(what);
}

export function eq<T>(actual: T, expected: T, what: string): void {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) {
    throw new CheckFailed(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
}

export function contains(text: string, part: string | RegExp, what: string): void {
  const ok = typeof part === 'string' ? text.includes(part) : part.test(text);
  if (!ok)
    throw new CheckFailed(`${what}: expected ${String(part)} in ${JSON.stringify(text.slice(0, 600))}`);
}

export function lines(text: string): string[] {
  return text.split('\n').filter((l) => l !== '');
}

/** GET on loopback (a port-forward's local end). */
export function httpGet(url: string, timeoutMs = 20_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve(body));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
  });
}

export function readIfExists(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
