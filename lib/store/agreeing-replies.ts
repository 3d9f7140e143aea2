/**
 * Two replicas that answer a get with the same stored object, byte for byte:
 * the common case of an R = 2 read (replicas agree unless a write or a
 * repair is in flight). Their merge is that object, and nothing needs repair
 * (read-quorum.ts would find `equal` versions), so a get need not decode two
 * objects, merge them and build the result from the merge: it holds the
 * first answer's bytes, compares the second's in place, and on a match reads
 * the result straight from the held bytes, as an R = 1 read does
 * (get-result.ts resultFromBytes). Identical bytes are identical objects, so
 * the shortcut decides nothing the full path would decide differently; any
 * difference takes the full path.
 */
import assert from 'node:assert/strict';
import { SiblingField, soleSiblingAt } from '../version/object-codec.js';

/**
 * The thread's one scratch for held answers. A get read in place gets both
 * answers before its start() returns, so the same scratch serves every such
 * get and holding costs no allocation; while one get holds it (its second
 * answer travels by message), the others take a copy from Node's shared
 * Buffer pool (allocUnsafe: no zeroing, no backing store of its own below
 * 4 KiB). A fresh ArrayBuffer per get was a measurable share of the
 * coordinator's time and GC at YCSB-B rates (bench/agreeing-replies.bench.ts).
 */
const SCRATCH_BYTES_MAX = 64 * 1024;
const SCRATCH_BYTES_START = 4096;
let scratch: Buffer = Buffer.allocUnsafeSlow(SCRATCH_BYTES_START);
let scratchHeld = false;

/** A copy of `bytes[at, at + length)` to hold until the other answer arrives; hand it back with `released`. */
export function heldCopy(bytes: Uint8Array, at: number, length: number): Buffer {
  let held: Buffer;
  if (!scratchHeld && length <= SCRATCH_BYTES_MAX) {
    if (length > scratch.byteLength) scratch = Buffer.allocUnsafeSlow(Math.min(SCRATCH_BYTES_MAX, Math.max(length, scratch.byteLength * 2)));
    scratchHeld = true;
    held = scratch.subarray(0, length);
  } else {
    held = Buffer.allocUnsafe(length);
  }
  held.set(bytes.subarray(at, at + length), 0);
  return held;
}

/** The get is done with `held`: the scratch serves the next one. Anything still needed of it must have been copied. */
export function released(held: Buffer): void {
  if (held.buffer === scratch.buffer) scratchHeld = false;
}

/** Whether `held` is the shared scratch (its bytes are overwritten once released). */
export function isScratch(held: Buffer): boolean {
  return held.buffer === scratch.buffer;
}

/** Whether `bytes[at, at + length)` is exactly `held`. */
export function sameBytes(held: Buffer, bytes: Uint8Array, at: number, length: number): boolean {
  if (held.byteLength !== length) return false;
  // Buffer.compare's native loop, on a Uint8Array source without a subarray.
  return held.compare(bytes, at, at + length) === 0;
}

/** The write time of the object's one sibling (at `view[at, at + length)`, by default the whole view), or NaN when it holds several: the caller's clock observes what it read. */
export function soleTimestampMs(view: DataView, at = 0, length = view.byteLength): number {
  const siblingAt = soleSiblingAt(view, at, length);
  return siblingAt < 0 ? NaN : view.getFloat64(siblingAt + SiblingField.TIMESTAMP_MS, true);
}

/**
 * One held record in a scratch of its own owner's (an answer the coordinator
 * keeps and resets per get, whose R answers all arrive before it is asked
 * again: agreeing-in-place-get.ts): `bytes[0, length)`, length -1 while none
 * is held. Holding, comparing and reading it make no object per get (a
 * Buffer per held copy and a DataView on it were a tenth of the
 * coordinator's bytes per YCSB-B operation). A plain Uint8Array, which
 * value-codec.ts decodeValueInPlace decodes where it lies.
 * Grown for a larger record; past SCRATCH_BYTES_MAX not kept once released.
 */
export class HeldRecord {
  bytes: Uint8Array<ArrayBuffer> = new Uint8Array(SCRATCH_BYTES_START);
  /** Over `bytes`' memory, for reading the record's fields. */
  view = new DataView(this.bytes.buffer);
  length = -1;
  /** Over `bytes`' memory: Buffer.compare's native loop. */
  private buffer = Buffer.from(this.bytes.buffer);

  hold(bytes: Uint8Array, at: number, length: number): void {
    if (length > this.bytes.byteLength) this.use(new Uint8Array(Math.max(length, this.bytes.byteLength * 2)));
    this.bytes.set(bytes.subarray(at, at + length), 0);
    this.length = length;
  }

  /** Whether `bytes[at, at + length)` is exactly the held record. */
  holds(bytes: Uint8Array, at: number, length: number): boolean {
    assert.ok(this.length >= 0, 'a second answer compared with no first held');
    return length === this.length && this.buffer.compare(bytes, at, at + length, 0, length) === 0;
  }

  release(): void {
    this.length = -1;
    if (this.bytes.byteLength > SCRATCH_BYTES_MAX) this.use(new Uint8Array(SCRATCH_BYTES_START));
  }

  private use(bytes: Uint8Array<ArrayBuffer>): void {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer);
    this.buffer = Buffer.from(bytes.buffer);
  }
}
