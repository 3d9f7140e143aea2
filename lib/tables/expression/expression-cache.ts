/**
 * A bounded cache of parsed expressions, least recently used out first, so
 * that an expression string a client sends again is parsed once. The key is
 * the expression kind and its text only: placeholders stay unresolved in a
 * parse, so requests with other ExpressionAttributeNames/Values share it.
 * Errors that the text alone decides are cached too (as their message).
 */
import assert from 'node:assert';

export const EXPRESSION_CACHE_ENTRIES_MAX = 1000;

export class ExpressionCache<T> {
  /** A Map iterates in insertion order: re-inserting on a hit keeps the oldest use first. */
  private readonly entries = new Map<string, T>();

  constructor(private readonly entriesMax: number = EXPRESSION_CACHE_ENTRIES_MAX) {
    assert(Number.isInteger(entriesMax) && entriesMax > 0, 'ExpressionCache: entriesMax must be a positive integer');
  }

  get size(): number {
    return this.entries.size;
  }

  /** The cached value for `key`, computing and storing it with `compute` on a miss. */
  get(key: string, compute: () => T): T {
    const cached = this.entries.get(key);
    if (cached !== undefined || this.entries.has(key)) {
      this.entries.delete(key);
      this.entries.set(key, cached as T);
      return cached as T;
    }
    const value = compute();
    if (this.entries.size >= this.entriesMax) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(key, value);
    return value;
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }
}
