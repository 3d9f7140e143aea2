/**
 * YCSB's key for a record number (CoreWorkload.buildKeyName with the default
 * insertorder=hashed and zeropadding=1): "user" + Long.toString(fnvhash64(n)).
 * Hashing scatters consecutive record numbers over the key space, so a
 * store ordered by key sees inserts in random order.
 */
import { fnvHash64Decimal } from './fnv-hash.js';

export const KEY_PREFIX = 'user';

export function keyName(keyNumber: number): string {
  return KEY_PREFIX + fnvHash64Decimal(keyNumber);
}
