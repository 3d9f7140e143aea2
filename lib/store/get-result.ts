/**
 * What `get` returns: the resolved value, every concurrent sibling, and the
 * opaque context that a later put or delete passes back to supersede them
 * (Dynamo §4.4: get returns the versions and a context; put takes it back).
 * Siblings and context are computed on first access: getMany rarely needs them.
 */
import type { Resolver } from '../config/options.js';
import { ErrorCode, RingtableError } from '../errors.js';
import { type Sibling, type VersionedObject, join, siblingsOf } from '../version/dotted-version-vector.js';
import { EntryField, OBJECT_HEADER_BYTES, SIBLING_HEADER_BYTES, SiblingField, clockOf, encodeContext, isTombstoneAt, soleSiblingAt } from '../version/object-codec.js';
import { isLive } from '../version/ordered-version.js';
import { decodeValue, decodeValueInPlace } from './value-codec.js';

export class GetResult<V = unknown> {
  /** The value chosen by the resolver (default: newest timestamp). */
  readonly value: V;
  private readonly siblingValues: V[] | undefined;
  private readonly siblingTimestampsMs: number[] | number;
  /**
   * Read from bytes: flat [actor, counter, ...], or for a clock of one entry
   * (the common case) its actor here and its counter in `soleCounter`, no
   * array; otherwise derived from `object`.
   */
  private readonly clock: number[] | number | undefined;
  private readonly soleCounter: number;
  private readonly object: VersionedObject | undefined;
  private contextText: string | undefined;

  constructor(value: V, siblings: V[] | undefined, timestampsMs: number[] | number, clock: number[] | number | undefined, object: VersionedObject | undefined, soleCounter = 0) {
    this.value = value;
    this.siblingValues = siblings;
    this.siblingTimestampsMs = timestampsMs;
    this.clock = clock;
    this.soleCounter = soleCounter;
    this.object = object;
  }

  /** Every live concurrent version, newest first; length 1 when there is no conflict. */
  get siblings(): V[] {
    return this.siblingValues ?? [this.value];
  }

  /** Sibling write times (ms since epoch), parallel to `siblings`. */
  get timestampsMs(): number[] {
    const t = this.siblingTimestampsMs;
    return typeof t === 'number' ? [t] : t;
  }

  /** Opaque causal context to pass to the next put or delete of this key. */
  get context(): string {
    if (this.contextText === undefined) {
      if (this.object !== undefined) {
        this.contextText = encodeContext(join(this.object));
      } else {
        const clock = this.clock!;
        if (typeof clock === 'number') return (this.contextText = encodeContext([[clock, this.soleCounter]]));
        const pairs: [number, number][] = [];
        for (let i = 0; i < clock.length; i += 2) pairs.push([clock[i]!, clock[i + 1]!]);
        this.contextText = encodeContext(pairs);
      }
    }
    return this.contextText;
  }

  toJSON(): { value: V; siblings: V[]; context: string } {
    return { value: this.value, siblings: this.siblings, context: this.context };
  }
}

/** Live siblings, newest first: tombstones and expired values are never returned. */
export function liveSiblings(object: VersionedObject, nowMs: number): Sibling[] {
  const live = siblingsOf(object).filter((s) => isLive(s, nowMs));
  if (live.length > 1) live.sort(newestFirst);
  return live;
}

function newestFirst(a: Sibling, b: Sibling): number {
  if (a.timestampMs !== b.timestampMs) return b.timestampMs - a.timestampMs;
  // A deterministic order for equal timestamps: byte order of the encoded value.
  return Buffer.compare(b.value, a.value);
}

export function toGetResult(object: VersionedObject | undefined, nowMs: number, resolve: Resolver | undefined): GetResult | undefined {
  if (object === undefined) return undefined;
  const entries = object.entries;
  if (entries.length === 1 && entries[0]!.siblings.length === 1) {
    // One sibling (no conflict: the usual object): the same result without liveSiblings' and the maps' four
    // arrays and closure, and no resolver (it is never called with one value). A hot-key cache hit is this
    // call and the value's copy (bench/README.md, "Session s14", "A hit's result").
    const sibling = entries[0]!.siblings[0]!;
    if (!isLive(sibling, nowMs)) return undefined;
    return new GetResult(decodeValue(sibling.value), undefined, sibling.timestampMs, undefined, object);
  }
  const live = liveSiblings(object, nowMs);
  if (live.length === 0) return undefined;
  const values = live.map((s) => decodeValue(s.value));
  const timestampsMs = live.map((s) => s.timestampMs);
  const value = resolve === undefined || values.length === 1 ? values[0] : callResolver(resolve, values, timestampsMs);
  return new GetResult(value, values, timestampsMs, undefined, object);
}

/** A user's resolver that throws fails the read under its own code: it is neither a replica's failure nor a transient one. */
function callResolver(resolve: Resolver, values: unknown[], timestampsMs: number[]): unknown {
  try {
    return resolve(values, timestampsMs);
  } catch (error) {
    throw new RingtableError(ErrorCode.RESOLVE, `the resolve option threw: ${error instanceof Error ? error.message : String(error)}`, undefined, { cause: error });
  }
}

/** An error raised while building a read's result, as the caller sees it: a resolver's (ERR_RESOLVE), or a stored value that cannot be decoded. */
export function resultError(error: unknown): RingtableError {
  if (error instanceof RingtableError) return error;
  return new RingtableError(ErrorCode.INVALID_VALUE, `a stored value could not be decoded: ${error instanceof Error ? error.message : String(error)}`, undefined, { cause: error });
}

/** Who hears the write time of what a read returned (the coordinator's hybrid logical clock). */
export interface TimestampObserver {
  observeTimestampMs(timestampMs: number): void;
}

/** A TimestampObserver that also tells the wall clock (the coordinator): asked only when a read meets an expiry. */
export interface ReadClock extends TimestampObserver {
  wallClockMs(): number;
}

/**
 * The read fast path: one replica's bytes holding a single sibling become a
 * result without materialising the object. Returns `null` when the object
 * needs the full path (several siblings). `clock` observes the sibling's
 * write time, tombstone or not, as Coordinator.toResult does on the full
 * path: a write made with this read's context must come after what it read.
 * `nowMs` NaN: the wall clock is read from `clock` (a ReadClock then), and
 * only for a sibling that expires (most have no expiry; a Date.now per read
 * in place was 0.8% of a YCSB-C run's main thread).
 */
export function resultFromBytes(bytes: Uint8Array, view: DataView, at: number, length: number, nowMs: number, clock?: TimestampObserver): GetResult | undefined | null {
  const siblingAt = soleSiblingAt(view, at, length);
  if (siblingAt < 0) return null;
  const timestampMs = view.getFloat64(siblingAt + SiblingField.TIMESTAMP_MS, true);
  clock?.observeTimestampMs(timestampMs);
  if (isTombstoneAt(view, siblingAt)) return undefined;
  const expiresAtMs = view.getFloat64(siblingAt + SiblingField.EXPIRES_AT_MS, true);
  if (expiresAtMs !== 0 && expiresAtMs <= (Number.isNaN(nowMs) ? (clock as ReadClock).wallClockMs() : nowMs)) return undefined;
  const valueBytes = view.getUint32(siblingAt + SiblingField.VALUE_BYTES, true);
  const valueAt = siblingAt + SIBLING_HEADER_BYTES;
  // Ring memory is shared (msgpackr's string extraction refuses it) and reused: decoded from a copy. A read in place is neither.
  const value = bytes.buffer instanceof SharedArrayBuffer ? decodeValue(bytes, valueAt, valueAt + valueBytes) : decodeValueInPlace(bytes, valueAt, valueAt + valueBytes);
  // The object's header holds its entry count (object-codec.ts); one entry's actor and counter need no array.
  if (view.getUint8(at + 1) !== 1) return new GetResult(value, undefined, timestampMs, clockOf(view, at), undefined);
  const entryAt = at + OBJECT_HEADER_BYTES;
  return new GetResult(value, undefined, timestampMs, view.getFloat64(entryAt + EntryField.ACTOR, true), undefined, view.getFloat64(entryAt + EntryField.COUNTER, true));
}
