/**
 * What `get` returns: the resolved value, every concurrent sibling, and the
 * opaque context that a later put or delete passes back to supersede them
 * (Dynamo §4.4: get returns the versions and a context; put takes it back).
 */
import type { Resolver } from '../config/options.js';
import { type Sibling, type VersionedObject, join, siblingsOf } from '../version/dotted-version-vector.js';
import { encodeContext } from '../version/object-codec.js';
import { decodeValue } from './value-codec.js';

export class GetResult<V = unknown> {
  /** The value chosen by the resolver (default: newest timestamp). */
  readonly value: V;
  /** Every live concurrent version, newest first; length 1 when there is no conflict. */
  readonly siblings: V[];
  /** Sibling write times (ms since epoch), parallel to `siblings`. */
  readonly timestampsMs: number[];
  private readonly object: VersionedObject;
  private contextText: string | undefined;

  constructor(value: V, siblings: V[], timestampsMs: number[], object: VersionedObject) {
    this.value = value;
    this.siblings = siblings;
    this.timestampsMs = timestampsMs;
    this.object = object;
  }

  /** Opaque causal context; computed on first access (getMany rarely needs it). */
  get context(): string {
    this.contextText ??= encodeContext(join(this.object));
    return this.contextText;
  }
}

/** Live siblings, newest first: tombstones and expired values are never returned. */
export function liveSiblings(object: VersionedObject, nowMs: number): Sibling[] {
  const live = siblingsOf(object).filter((s) => !s.tombstone && (s.expiresAtMs === 0 || s.expiresAtMs > nowMs));
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
  const live = liveSiblings(object, nowMs);
  if (live.length === 0) return undefined;
  const values = live.map((s) => decodeValue(s.value));
  const timestampsMs = live.map((s) => s.timestampMs);
  const value = resolve === undefined || values.length === 1 ? values[0] : resolve(values, timestampsMs);
  return new GetResult(value, values, timestampsMs, object);
}
