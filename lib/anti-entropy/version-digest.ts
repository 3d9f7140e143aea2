/**
 * What anti-entropy compares about a key: its version's causal content in a
 * canonical form, and a 64-bit digest of the key with that content.
 *
 * The stored object (object-codec.ts) is not canonical across replicas, so
 * its bytes are never hashed as they are: an entry's `timestampMs` is a
 * bound used only to pick truncation victims, merged by max, and for an
 * entry learnt from a client's context the time of the write that brought it
 * (dotted-version-vector.ts update, mergeEntry), which differs between the
 * replica that coordinated that write and one that knew the actor's event
 * earlier, so two replicas that hold the same version can store different
 * entry timestamps; likewise an entry's contextOnly flag
 * (entryFlags), a truncation hint merged by AND. Everything else in the
 * bytes is a function of the causal content.
 *
 * Canonical content, per clock entry in actor order (the codec keeps entries
 * sorted by actor; asserted here):
 *
 *   f64 actor | f64 counter | u32 siblingCount      (CANONICAL_ENTRY_BYTES, little-endian)
 *
 * which is exactly the clock and the sibling dots: entry (actor, counter,
 * siblings) holds the dots (actor, counter - k) for k < siblingCount. The
 * values themselves (bytes, timestamps, expiry, tombstone flag) are left out
 * because in a DVVSet a dot names one value everywhere: a value is only
 * created by `update` on the coordinator that mints its dot, actor epochs
 * (version/actor.ts) keep a dot from being minted twice, and `sync` only
 * ever moves (dot, value) pairs around. And the set of current dots is a
 * function of the clock alone (a dot is current iff it is seen and no seen
 * event's context covered it; per actor that is a suffix, hence a count), so
 * the sibling counts add nothing for versions that were merged by `sync`.
 * They are kept because they cost nothing and catch the one way the clock
 * alone could mislead: `conflicts: 'lww'`, which discards siblings under an
 * unchanged clock (dvvset lww/2), applied to one replica's state and not
 * another's.
 *
 * Expiry: a key whose every value has expired at `nowMs` is treated as
 * absent, as a read treats it. Nodes sweep expired keys each on its own
 * schedule, so otherwise a compare would find swept and unswept copies
 * different, and repairing them would copy dead values back.
 *
 * Deterministic (XXH32 from the maintained `xxhash-wasm`, no clock): pure.
 */
import assert from 'node:assert/strict';
import xxhash from 'xxhash-wasm';
import { EntryField, ENTRY_HEADER_BYTES, FORMAT_VERSION, OBJECT_HEADER_BYTES, SIBLING_HEADER_BYTES, SiblingField } from '../version/object-codec.js';
import type { ClockEntry, Sibling, VersionedObject } from '../version/dotted-version-vector.js';

export const CANONICAL_ENTRY_BYTES = 20;
const CANONICAL_COUNTER = 8;
const CANONICAL_SIBLING_COUNT = 16;
/** The codec's bound on clock entries (a u8), so canonical content is at most 255 × 20 bytes. */
export const CANONICAL_BYTES_MAX = 255 * CANONICAL_ENTRY_BYTES;

/** Two lanes of the per-key digest (any distinct seeds; part of the comparison, not of the disk format). */
const KEY_SEED_LO = 0x2545f491;
const KEY_SEED_HI = 0x6c8e9cf5;

const hasher = await xxhash();

/**
 * Write the canonical causal content of encoded object `bytes` into `out`
 * and return its length, or -1 when every value has expired at `nowMs`.
 * Throws an AssertionError for bytes the codec could not have written.
 */
export function canonicalVersion(bytes: Uint8Array, nowMs: number, out: Uint8Array): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  assert(bytes.byteLength >= OBJECT_HEADER_BYTES && bytes[0] === FORMAT_VERSION, 'stored version has an unknown format');
  const entryCount = bytes[1]!;
  assert(out.byteLength >= entryCount * CANONICAL_ENTRY_BYTES, 'canonical buffer too small');
  const outView = new DataView(out.buffer, out.byteOffset, out.byteLength);
  let at = OBJECT_HEADER_BYTES;
  let actorPrevious = -1;
  let siblingsTotal = 0;
  let live = false;
  for (let i = 0; i < entryCount; i++) {
    assert(at + ENTRY_HEADER_BYTES <= bytes.byteLength, 'stored version is truncated');
    const actor = view.getFloat64(at + EntryField.ACTOR, true);
    const siblingCount = view.getUint32(at + EntryField.SIBLING_COUNT, true);
    assert(actor > actorPrevious, 'stored entries must be sorted by actor and distinct');
    actorPrevious = actor;
    const to = i * CANONICAL_ENTRY_BYTES;
    outView.setFloat64(to, actor, true);
    outView.setFloat64(to + CANONICAL_COUNTER, view.getFloat64(at + EntryField.COUNTER, true), true);
    outView.setUint32(to + CANONICAL_SIBLING_COUNT, siblingCount, true);
    at += ENTRY_HEADER_BYTES;
    for (let k = 0; k < siblingCount; k++) {
      assert(at + SIBLING_HEADER_BYTES <= bytes.byteLength, 'stored version is truncated');
      const expiresAtMs = view.getFloat64(at + SiblingField.EXPIRES_AT_MS, true);
      // The sweep's rule (replica.ts expireOne): a value with no expiry, or one still ahead, keeps the key.
      if (expiresAtMs === 0 || expiresAtMs > nowMs) live = true;
      at += SIBLING_HEADER_BYTES + view.getUint32(at + SiblingField.VALUE_BYTES, true);
    }
    siblingsTotal += siblingCount;
  }
  assert.equal(at, bytes.byteLength, 'stored version has trailing bytes');
  // No values at all is not a state `update` or `sync` produce; treat it as live, as the sweep never indexes it.
  if (siblingsTotal > 0 && !live) return -1;
  return entryCount * CANONICAL_ENTRY_BYTES;
}

/** Canonical content of a decoded version: the same bytes as `canonicalVersion` of its encoding. */
export function canonicalOfObject(obj: VersionedObject): Uint8Array {
  const out = new Uint8Array(obj.entries.length * CANONICAL_ENTRY_BYTES);
  const view = new DataView(out.buffer);
  obj.entries.forEach((entry, i) => {
    const to = i * CANONICAL_ENTRY_BYTES;
    view.setFloat64(to, entry.actor, true);
    view.setFloat64(to + CANONICAL_COUNTER, entry.counter, true);
    view.setUint32(to + CANONICAL_SIBLING_COUNT, entry.siblings.length, true);
  });
  return out;
}

const PLACEHOLDER: Sibling = Object.freeze({ value: new Uint8Array(0), timestampMs: 0, expiresAtMs: 0, tombstone: false });

/**
 * A version with the causal content of `canonical` and placeholder values:
 * enough for `sync`, whose result's clock and dots depend only on the
 * inputs' clocks and dots.
 */
export function objectOfCanonical(canonical: Uint8Array): VersionedObject {
  assert.equal(canonical.byteLength % CANONICAL_ENTRY_BYTES, 0, 'canonical content is whole entries');
  const view = new DataView(canonical.buffer, canonical.byteOffset, canonical.byteLength);
  const entries: ClockEntry[] = [];
  for (let to = 0; to < canonical.byteLength; to += CANONICAL_ENTRY_BYTES) {
    const siblingCount = view.getUint32(to + CANONICAL_SIBLING_COUNT, true);
    entries.push({
      actor: view.getFloat64(to, true),
      counter: view.getFloat64(to + CANONICAL_COUNTER, true),
      timestampMs: 0,
      siblings: new Array<Sibling>(siblingCount).fill(PLACEHOLDER),
    });
  }
  return { entries };
}

/**
 * A key's 64-bit digest, for the Merkle leaves: XXH32 with two seeds over
 * key ++ canonical content ++ u32 key length (the length makes the split
 * between key and content unambiguous). `scratch` holds the concatenation;
 * the digest is written to `digest[0]` (lo) and `digest[1]` (hi).
 */
export function keyDigest(key: Uint8Array, canonical: Uint8Array, canonicalBytes: number, scratch: Uint8Array, digest: Uint32Array): void {
  const total = key.byteLength + canonicalBytes + 4;
  assert(scratch.byteLength >= total, 'digest scratch too small');
  scratch.set(key, 0);
  scratch.set(canonical.subarray(0, canonicalBytes), key.byteLength);
  const lengthAt = key.byteLength + canonicalBytes;
  scratch[lengthAt] = key.byteLength & 0xff;
  scratch[lengthAt + 1] = (key.byteLength >>> 8) & 0xff;
  scratch[lengthAt + 2] = (key.byteLength >>> 16) & 0xff;
  scratch[lengthAt + 3] = key.byteLength >>> 24;
  const input = scratch.subarray(0, total);
  digest[0] = hasher.h32Raw(input, KEY_SEED_LO) >>> 0;
  digest[1] = hasher.h32Raw(input, KEY_SEED_HI) >>> 0;
}
