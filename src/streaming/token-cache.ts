import crypto from 'crypto';

/**
 * Single-use, expiring tokens for streaming requests. A token is 16 random bytes in base64url, so
 * guessing one is hopeless; it is deleted when consumed or once it expires.
 */
export class TokenCache<T> {
  private readonly entries = new Map<string, { value: T; expiresAt: number }>();

  constructor(
    /** How long an unused token stays valid. Tests shorten it. */
    public ttlMs = 60_000,
    /** At most this many outstanding tokens (the kubelet's cache holds 1000 as well). */
    readonly maxEntries = 1000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Stores a value; undefined when the cache is full of live tokens. */
  insert(value: T): string | undefined {
    this.sweep();
    if (this.entries.size >= this.maxEntries) return undefined;
    const token = crypto.randomBytes(16).toString('base64url');
    this.entries.set(token, { value, expiresAt: this.now() + this.ttlMs });
    return token;
  }

  /** The value once: a second call, or one after expiry, gives undefined. */
  consume(token: string): T | undefined {
    const e = this.entries.get(token);
    if (!e) return undefined;
    this.entries.delete(token);
    return e.expiresAt > this.now() ? e.value : undefined;
  }

  get size(): number {
    this.sweep();
    return this.entries.size;
  }

  private sweep(): void {
    const now = this.now();
    for (const [k, e] of this.entries) if (e.expiresAt <= now) this.entries.delete(k);
  }
}
