/**
 * Serializes work per key (a pod sandbox id) while different keys run in parallel. Keys with no
 * waiting work are dropped, so the map does not grow with pod churn.
 */
export class KeyedMutex {
  private tails = new Map<string, Promise<unknown>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const mine = previous.then(fn, fn);
    const tail = mine.catch(() => undefined);
    this.tails.set(key, tail);
    try {
      return await mine;
    } finally {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  /** Keys with work queued or running (for leak checks). */
  size(): number {
    return this.tails.size;
  }
}
