/**
 * Writes to one item from this process, one at a time. A table write reads
 * the item at its partition's leader, decides, and writes with
 * compare-and-set on the version it read (database.ts); when many callers of
 * this process write one item at once, all but one lose each round and read
 * again, so n concurrent writers cost about n²/2 rounds (64 concurrent
 * PutItems of one key ran at 21 per second in `npm run bench:serve`). Queued
 * here first, they cost n rounds. Compare-and-set still decides between
 * writers of other processes, and past the per-item bound a write skips the
 * queue and relies on it alone.
 */
import { Buffer } from 'node:buffer';

/** Writers of one item waiting here at most; more go straight to compare-and-set. */
export const KEY_WRITERS_MAX = 1024;

interface Lane {
  /** Settles when the last queued write has settled; never rejects. */
  tail: Promise<void>;
  writers: number;
}

export class KeyWriteQueue {
  private readonly lanes = new Map<string, Lane>();

  /** Items with a write queued or running. */
  get size(): number {
    return this.lanes.size;
  }

  /** Runs `write` after the writes of `key` queued before it have settled. */
  run<T>(key: Uint8Array, write: () => Promise<T>): Promise<T> {
    const id = Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
    const lane = this.lanes.get(id);
    if (lane !== undefined && lane.writers >= KEY_WRITERS_MAX) return write();
    const result = lane === undefined ? write() : lane.tail.then(write);
    const current: Lane = lane ?? { tail: Promise.resolve(), writers: 0 };
    current.writers += 1;
    current.tail = result.then(done, done);
    if (lane === undefined) this.lanes.set(id, current);
    const leave = (): void => {
      current.writers -= 1;
      if (current.writers === 0) this.lanes.delete(id);
    };
    void current.tail.then(leave);
    return result;
  }
}

function done(): void {}
