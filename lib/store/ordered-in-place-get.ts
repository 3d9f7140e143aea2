/**
 * A one-key leader-ordered read answered before the call returns (readPath
 * 'direct'), as in-place-get.ts answers an R = 1 get: the replica's LMDB
 * environment read in the calling thread, without an OrderedReadOperation, a
 * deadline, a callback or a promise of its own. GetItem is this read; through
 * the operation it ran at about 0.6x of an in-place get (issue 11's target
 * is 0.5x of the engine's get for GetItem, tables layer included).
 *
 * Only where the operation would itself read that same copy in place and
 * answer it unchanged (OrderedReadOperation, Coordinator.sendLeaderRead):
 *   - eventual: an up replica of the key's own preference list, the one the
 *     operation's rotation (routing.ts singleReadTarget) picks, so eventual
 *     reads still spread over the replicas and a lagging one's staleness
 *     stays observable (DynamoDB's eventually consistent read);
 *   - consistent: the partition's leader, when routing would serve it at
 *     once (partition-leaders.ts route: the first up node of the list leads
 *     the current term and caught up in it), its copy may be read in place
 *     (Leadership.readsInPlace: it has not restarted since), and nothing of
 *     the key is in flight or in doubt (uncommitted-keys.ts: commit before
 *     serving, Raft §5.4.2). Then the node's own term check could not refuse
 *     it, so skipping the message skips nothing.
 * Anything else (no leader yet, an election, a key in doubt, a node down,
 * paused, fault-injected, or past the host's per-turn bound of reads in
 * place) is the operation's, which waits, commits, retries or fails as it
 * always did.
 *
 * The decision is pure (orderedInPlaceTarget); the coordinator runs it, and
 * so does the simulation, which drives the same coordinator.
 */
import { isHinted, nodeOfTarget } from '../ring/sloppy-quorum.js';
import type { PendingReply } from '../transport/node-link.js';
import { Status, type WireKey, copyBytes } from '../transport/wire.js';
import { InPlaceState } from './in-place-get.js';
import type { OrderedReadCallback } from './ordered-operation.js';
import { type Leadership, PartitionLeaders } from './partition-leaders.js';
import { decodeValue, decodeValueInPlace } from './value-codec.js';
import { EntryField, OBJECT_HEADER_BYTES, SIBLING_HEADER_BYTES, SiblingField, isTombstoneAt, soleSiblingAt } from '../version/object-codec.js';
import { ORDERED_ACTOR } from '../version/ordered-version.js';
import { type IsUp, singleReadTarget } from './routing.js';

/**
 * The answer of an ordered read, as OrderedReadOperation gives it: OK with
 * the object's bytes (the caller's own copy), or NOT_FOUND. Asked `decoded`,
 * a plain ordered object comes decoded instead (`decoded` set, `payload`
 * empty): its value decoded where it lies, no copy of the object, no
 * VersionedObject (orderedValueAt).
 */
export interface OrderedReadAnswer {
  status: number;
  payload: Uint8Array;
  /** The node whose copy was read. */
  replica: number;
  decoded?: OrderedDecoded;
}

/** A leader-ordered object read straight from its bytes: `live` false for a tombstone or an expired value (then `value` is undefined). */
export interface OrderedDecoded {
  version: number;
  live: boolean;
  value: unknown;
}

/**
 * The ordered entry of the object at `bytes[at, at + length)` (object-codec.ts
 * layout: one entry of ORDERED_ACTOR with one sibling), decoded without
 * materialising the object, as get-result.ts resultFromBytes reads a plain
 * one; null when it is not such an object (the caller's full path decides
 * what that means). The value is decoded where it lies unless the memory is
 * shared (a ring's, reused: msgpackr refuses it).
 */
export function orderedValueAt(bytes: Uint8Array, view: DataView, at: number, length: number, nowMs: number): OrderedDecoded | null {
  const siblingAt = soleSiblingAt(view, at, length);
  if (siblingAt < 0 || view.getUint8(at + 1) !== 1) return null;
  const entryAt = at + OBJECT_HEADER_BYTES;
  if (view.getFloat64(entryAt + EntryField.ACTOR, true) !== ORDERED_ACTOR) return null;
  const version = view.getFloat64(entryAt + EntryField.COUNTER, true);
  const expiresAtMs = view.getFloat64(siblingAt + SiblingField.EXPIRES_AT_MS, true);
  if (isTombstoneAt(view, siblingAt) || (expiresAtMs > 0 && expiresAtMs <= nowMs)) return { version, live: false, value: undefined };
  const valueAt = siblingAt + SIBLING_HEADER_BYTES;
  const valueEnd = valueAt + view.getUint32(siblingAt + SiblingField.VALUE_BYTES, true);
  const value = bytes.buffer instanceof SharedArrayBuffer ? decodeValue(bytes, valueAt, valueEnd) : decodeValueInPlace(bytes, valueAt, valueEnd);
  return { version, live: true, value };
}

/**
 * The node to read in place for an ordered one-key read, or -1 (ask by
 * message). `list`: the key's own replicas (no stand-ins); `rotation`: the
 * eventual read's turn (as anyUpReplica's); `leadership`: the partition's
 * current one, if any; `keyTracked`: the key has writes in flight or in doubt.
 */
export function orderedInPlaceTarget(consistent: boolean, list: Int32Array, rotation: number, isUp: IsUp, leadership: Leadership | undefined, keyTracked: boolean): number {
  if (list.length === 0) return -1;
  if (!consistent) {
    const target = singleReadTarget(list, rotation, isUp);
    return isHinted(target) || !isUp(nodeOfTarget(target)) ? -1 : target;
  }
  const leader = PartitionLeaders.leaderOf(list, isUp);
  // Routing would open a new term (a different first up node) or wait for a catch-up: the operation's.
  if (leader === undefined || leadership === undefined || leadership.leader !== leader || !leadership.ready) return -1;
  // Restarted since it caught up: only the node can say whether it still leads (it refuses the term).
  if (!leadership.readsInPlace) return -1;
  return keyTracked ? -1 : leader;
}

/** The sink of one ordered read in place: the stored object copied out (the environment's read buffer is reused), or NOT_FOUND. */
export class OrderedInPlaceAnswer implements PendingReply {
  state: number = InPlaceState.NONE;
  status: number = Status.NOT_FOUND;
  payload: Uint8Array = EMPTY;
  decoded: OrderedDecoded | undefined = undefined;
  /** Decode a plain ordered object (orderedValueAt) at this wall clock, rather than copy it out; set per read. */
  private decode = false;
  private nowMs = 0;

  reset(decode = false, nowMs = 0): void {
    this.state = InPlaceState.NONE;
    this.payload = EMPTY;
    this.decoded = undefined;
    this.decode = decode;
    this.nowMs = nowMs;
  }

  onReply(_nodeId: number, status: number, bytes: Uint8Array, view: DataView, at: number, length: number): void {
    if (status !== Status.OK && status !== Status.NOT_FOUND) {
      this.state = InPlaceState.DECLINED;
      return;
    }
    this.status = status;
    if (status === Status.OK && this.decode) {
      let decoded: OrderedDecoded | null;
      try {
        decoded = orderedValueAt(bytes, view, at, length, this.nowMs);
      } catch {
        decoded = null; // a value that does not decode: the full path reports it
      }
      if (decoded !== null) {
        this.decoded = decoded;
        this.state = InPlaceState.ANSWERED;
        return;
      }
    }
    // As OrderedReadOperation answers: the bytes as stored, decoded by the caller.
    this.payload = status === Status.OK ? copyBytes(bytes, at, at + length) : EMPTY;
    this.state = InPlaceState.ANSWERED;
  }

  onNodeFailure(): void {
    this.state = InPlaceState.DECLINED;
  }
}

/**
 * Ordered gets waiting for the next macrotask to be read in place
 * (Coordinator.orderedGetLater), oldest first: past the host's per-turn bound
 * of reads in place (direct-reads.ts), as LaterGets holds plain gets. Sent
 * as messages instead, a third of GetItem's reads went to the node threads.
 */
export class LaterOrderedGets {
  private keys: WireKey[] = [];
  private consistents: boolean[] = [];
  private callbacks: OrderedReadCallback[] = [];
  private head = 0;

  get size(): number {
    return this.keys.length - this.head;
  }

  push(key: WireKey, consistent: boolean, callback: OrderedReadCallback): void {
    this.keys.push(key);
    this.consistents.push(consistent);
    this.callbacks.push(callback);
  }

  key(): WireKey {
    return this.keys[this.head]!;
  }

  consistent(): boolean {
    return this.consistents[this.head]!;
  }

  /** Drop the oldest and return its callback. */
  shift(): OrderedReadCallback {
    const callback = this.callbacks[this.head]!;
    this.head++;
    if (this.head === this.keys.length) {
      this.keys = [];
      this.consistents = [];
      this.callbacks = [];
      this.head = 0;
    }
    return callback;
  }
}

const EMPTY = new Uint8Array(0);
