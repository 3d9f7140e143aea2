/**
 * The versions a storage node minted and does not yet see in its committed
 * storage: Op.MINT's (putMany, wire.ts), answered before any commit, and
 * PUT's while their commit is in flight.
 *
 * Why: a node mints a dot from the key's clock as it knows it (DVVSet
 * update, actor.ts). A MINT is answered at once and stored only when the
 * coordinator's REPLICATE of it commits here, with the other replicas', so
 * that a putMany costs each node one commit instead of the coordinating
 * node's commit followed by the replicas' (about three per node per batch).
 * Between the two, the node's storage does not show the dot; minting again
 * from storage alone would reuse it (Riak's KV679: two values under one
 * dot). So every mint reads the stored clock joined (DVVSet sync) with the
 * version minted here last, and that version is kept until a commit that
 * holds it completed.
 *
 * Bounded: at MINTED_KEYS_MAX keys nothing more is remembered and the node
 * forgets them all (`clear`) and raises its epochMin (actor.ts), so that no
 * actor whose dots it may have forgotten is reused: the next write of each
 * key takes a fresh epoch, as after a restart.
 */
import { type VersionedObject, sync } from '../version/dotted-version-vector.js';
import { decodeObject } from '../version/object-codec.js';

/** Keys with a minted version kept at most: a putMany window (16,384 items) on every node, four times over. */
export const MINTED_KEYS_MAX = 65_536;

export class MintedVersions {
  /** Encoded objects, each its own buffer (never a view of a request's memory, which it would keep alive). */
  private readonly byKey = new Map<string, Uint8Array>();

  get size(): number {
    return this.byKey.size;
  }

  /** What this node knows of the key: its stored object joined with the version it minted last, if it keeps one. */
  known(key: Uint8Array, stored: VersionedObject | undefined): VersionedObject | undefined {
    if (this.byKey.size === 0) return stored;
    const minted = this.byKey.get(keyText(key));
    if (minted === undefined) return stored;
    // Decoded when asked (a key minted again before its commit, a REPLICATE of it): rarer than minting.
    const object = decodeObject(minted);
    return stored === undefined ? object : sync(stored, object);
  }

  /**
   * Keep the key's newest minted version (it descends what was kept: it was
   * minted from it). False, and nothing kept, when full: the caller then
   * forgets every minted version (see the module's comment).
   */
  remember(key: Uint8Array, bytes: Uint8Array): boolean {
    const text = keyText(key);
    if (this.byKey.size >= MINTED_KEYS_MAX && !this.byKey.has(text)) return false;
    this.byKey.set(text, bytes);
    return true;
  }

  /** A commit holding `bytes` for the key completed: a version minted as exactly those bytes is in storage now. */
  committed(key: Uint8Array, bytes: Uint8Array): void {
    if (this.byKey.size === 0) return;
    const text = keyText(key);
    const minted = this.byKey.get(text);
    if (minted !== undefined && sameBytes(minted, bytes)) this.byKey.delete(text);
  }

  clear(): void {
    this.byKey.clear();
  }
}

function keyText(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.compare(a, b) === 0;
}
