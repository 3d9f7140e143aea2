/**
 * How many of this coordinator's puts and deletes of each key are in flight
 * (sent, and not yet answered by every replica or past their deadline), by
 * a slot of the key's hash: so that a read repair does not send a replica
 * what such a write will bring it (Dynamo §4.7: read repair is
 * opportunistic; a replica a skipped repair leaves behind is repaired by the
 * next read that finds it so once no write of the key is in flight, or by
 * anti-entropy).
 *
 * Why: a write acknowledged at W = 2 of N = 3 leaves its third replica
 * behind until the REPLICATE lands there, and every R = 2 read of the key
 * that met that replica in that window read-repaired it with the same
 * object. On YCSB-B (5% puts, zipfian) a put drew about two such repairs:
 * four replicated writes per put where two carry it (session s16,
 * bench/README.md).
 *
 * Counts by slot, not a map of keys and operations: a first version kept
 * each key's operations in a Map, and the coordinator's old generation was
 * then collected 18-25 times in a YCSB-B run of 8 s against none (V8's
 * mark-compact mode, bench/README.md s10). A key whose slot another key's
 * write holds (SLOTS is 65,536, a few hundred writes in flight) has its
 * repair deferred the same way, never lost. Fixed memory: SLOTS counters.
 */
import assert from 'node:assert/strict';

const SLOT_BITS = 16;
export const WRITES_IN_FLIGHT_SLOTS = 1 << SLOT_BITS;
const SLOT_MASK = WRITES_IN_FLIGHT_SLOTS - 1;

export class WritesInFlight {
  private readonly counts = new Uint32Array(WRITES_IN_FLIGHT_SLOTS);
  private total = 0;

  /** Writes in flight. */
  get size(): number {
    return this.total;
  }

  /** A write of the key with this hash (ring/hash.ts hashKey32) was sent. */
  add(hash32: number): void {
    this.counts[hash32 & SLOT_MASK]!++;
    this.total++;
  }

  /** That write settled: every replica answered, or its deadline passed. */
  remove(hash32: number): void {
    const slot = hash32 & SLOT_MASK;
    if (!(this.counts[slot]! > 0)) assert.fail('a write in flight was removed twice');
    this.counts[slot]!--;
    this.total--;
  }

  /** Is a write of the key with this hash (or of a key sharing its slot) in flight? */
  covers(hash32: number): boolean {
    return this.total > 0 && this.counts[hash32 & SLOT_MASK]! > 0;
  }
}
