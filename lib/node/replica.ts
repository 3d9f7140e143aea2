/**
 * A storage node's side of every request: read, coordinate a write, merge a
 * replicated write, purge a tombstone, sweep expired items. Transport-agnostic:
 * requests arrive as message bytes (wire.ts), answers leave through a
 * ResponseSink, and storage sits behind StorageEngine, so the same code runs in
 * a worker over SharedArrayBuffer rings, over postMessage, or in a simulation.
 */
import assert from 'node:assert/strict';
import { ErrorCode } from '../errors.js';
import {
  type CausalContext,
  type Sibling,
  type VersionedObject,
  descends,
  equal,
  sameContextOnly,
  join,
  lastWriterWins,
  siblingsOf,
  sync,
  truncate,
  update,
  joinContexts,
  CLOCK_ENTRY_YOUNG_MS,
} from '../version/dotted-version-vector.js';
import { CONTEXT_COUNTER_MAX, ENTRIES_MAX, ObjectArena, checkObjectAt, clockInto, decodeObject, encodeObject, encodeObjectTransient, forEachExpiryAt, soleSiblingAt, viewOfBytes } from '../version/object-codec.js';
import { TERM_SPAN, isLive, nextVersion, orderedEntryOf, orderedObject } from '../version/ordered-version.js';
import type { ExpiryCandidate, StorageEngine, WriteBatch } from '../storage/storage-engine.js';
import { EPOCH_MAX, EPOCH_RESTART_MARGIN, actorOf, actorToReuse, isReusableOwnActor, namesForgottenActor } from '../version/actor.js';

/**
 * Fresh epochs a node may take outside a commit (RequestFlag.MINT_ONLY's
 * mints, answered before anything stores them) beyond the last epoch a
 * completed commit persisted: well under the margin a restart adds
 * (actor.ts), so that a crash that loses them never reuses one.
 */
const EPOCHS_UNSTORED_MAX = EPOCH_RESTART_MARGIN / 4;
import {
  CONTEXT_PAIR_BYTES,
  Op,
  Request,
  RequestFlag,
  Status,
  copyBytes,
  decodeRequestHeader,
  decodeScanRequest,
  decodeDropSpace,
  decodeOrderedFields,
  decodeRangePayload,
  encodeRangePage,
  ExpectKind,
  ORDERED_FIELDS_BYTES,
  OrderedFlag,
  AlsoFlag,
  type KeyedObject,
  decodeAlsoPayload,
  decodeKeyedObjects,
  encodeKeyedObjects,
  type OrderedFields,
  type RequestHeader,
  encodeEntries,
  forEachEnvelopeItem,
  encodeScanPage,
  newRequestHeader,
} from '../transport/wire.js';
import { PARTITIONED_KEY_MARKER, isWellFormedPartitionedKey } from '../ring/partitioned-key.js';
import { EnvelopeAnswer } from './envelope-answer.js';
import { type PendingMint, PendingMints, keyText } from './pending-mints.js';
import { UncommittedWrites, uncommittedSlotOf } from './uncommitted-writes.js';
import type { ResponseSink } from './response-sink.js';
import { HINTS_FOR_BASE, NODE_IDS_MAX, NODE_STAT_SLOTS, NodeStat } from '../transport/node-stats.js';

export type { ResponseSink } from './response-sink.js';

export interface ReplicaConfig {
  nodeId: number;
  /** Largest encoded object this node stores: beyond it a write is refused. */
  objectBytesMax: number;
  conflicts: 'siblings' | 'lww';
  /** Dynamo §4.4: bound on clock entries per object. */
  clockEntriesMax: number;
  /**
   * Called every BEAT_WRITES writes while a commit applies them: the node
   * thread beats its heartbeat there, so that a node applying one large
   * commit (a putMany's whole share) is not taken for a silent one.
   */
  beat?: () => void;
}

/**
 * The greatest term of `terms` into the shared counter the coordinator reads
 * (node-stats.ts TERM_MAX). The node thread calls it before it reports
 * ready, as the Replica does: a coordinator reads it as soon as the node is
 * ready, before any request could make the Replica.
 */
export function publishTermMax(stats: Float64Array, terms: ReadonlyMap<number, number>): void {
  let termMax = 0;
  for (const term of terms.values()) termMax = Math.max(termMax, term);
  stats[NodeStat.TERM_MAX] = Math.max(stats[NodeStat.TERM_MAX]!, termMax);
}

/** Longest key read into a reused key buffer (reusedKey): at most 64 KiB of buffers, one per length. */
const REUSED_KEY_BYTES_MAX = 360;

/** Writes applied between two `beat` calls within one commit. */
const BEAT_WRITES = 256;
/**
 * Writes past which a commit is not extended (`commit`'s `extend`): bounds
 * what one commit holds until it is answered (about 3.5 MB of a putMany's
 * envelopes) and how long its first writes wait for their answers.
 */
export const COMMIT_WRITES_MAX = 16_384;

// The stats layout shared with the coordinator lives in the transport (transport/node-stats.ts).
export { HINTS_FOR_BASE, NODE_IDS_MAX, NODE_STAT_SLOTS, NodeStat } from '../transport/node-stats.js';

/** Entries of one HINTS or PARTITION_SCAN answer, and keys one scan request examines. */
const LIST_ENTRIES_MAX = 1024;
const LIST_BYTES_MAX = 1 << 20;
const SCAN_EXAMINE_MAX = 16_384;

/** Where a write lands: the node's own objects, or the hints held for one owner. */
interface Keyspace {
  get(key: Uint8Array): Uint8Array | undefined;
  put(key: Uint8Array, bytes: Uint8Array): void;
  remove(key: Uint8Array): void;
  indexExpiry(key: Uint8Array, expiresAtMs: number): void;
}

/** Keys one RANGE answer may list, whatever the request asks (DESIGN.md §5's bound). */
export const RANGE_ENTRIES_MAX = 10_000;

/** A write or read this node refuses with a status of its own (CONFLICT, STALE_TERM) and a payload. */
class Refusal {
  constructor(
    readonly status: number,
    readonly payload: Uint8Array | undefined,
  ) {}
}

/** DROP_IF_COVERED's answers when it drops nothing (dropIfCovered). */
const NOT_STORED = new Refusal(Status.NOT_FOUND, undefined);
const KEPT_NEWER = new Refusal(Status.CONFLICT, undefined);

/** Shared by every write without a context (most of them): never mutated. */
const NO_CONTEXT: [number, number][] = [];
const EMPTY_BYTES = new Uint8Array(0);

interface PendingWrite {
  op: number;
  requestId: number;
  flags: number;
  key: Uint8Array;
  context: CausalContext;
  value: Uint8Array;
  timestampMs: number;
  expiresAtMs: number;
  /** -1: own data; else the node this write is held for (a hint). */
  hintOwner: number;
  /** A queued write's key slot in the node's UncommittedWrites, until its commit ends. */
  uncommittedSlot?: number;
}

/**
 * A write envelope whose items wait for the next commit (issue 15 target 4).
 * They are applied straight from the envelope's bytes, the node's own copy:
 * until the commit, nothing is kept per item but its place, so a putMany's
 * share of thousands of writes holds one buffer per envelope, not an object
 * and two views per write that outlive the scavenges of their wait.
 */
class QueuedEnvelope {
  constructor(
    readonly bytes: Uint8Array,
    readonly view: DataView,
    /** Each item's message as [at, length] in `bytes`, in item order; length 0: answered already (a MINT_ONLY PUT). */
    readonly places: Int32Array,
    /** Each item's key slot in the node's UncommittedWrites until the commit ends; -1: answered already. */
    readonly slots: Int32Array,
    readonly answer: EnvelopeAnswer,
  ) {}

  get itemCount(): number {
    return this.places.length / 2;
  }
}

/** What waits for the next commit, in arrival order: single writes, and envelopes of them. */
type Queued = PendingWrite | QueuedEnvelope;

type WriteResult = Uint8Array | Error | Refusal | undefined;

/**
 * One commit's results by write slot, an envelope's items each their own:
 * only those that are not a plain OK (undefined) are kept, in slot order,
 * so an lww putMany's share of thousands of replicated writes keeps nothing
 * (issue 15 target 4: an array grown slot by slot was 30 bytes of garbage
 * per write on the nodes, a sampling heap profile of put-many.bench).
 */
class CommitResults {
  private readonly slots: number[] = [];
  private readonly values: (Uint8Array | Error | Refusal)[] = [];
  private cursor = 0;
  /** Every slot's result, when the commit failed as a whole. */
  private failure: Error | undefined;

  set(slot: number, result: WriteResult): void {
    if (result === undefined) return;
    this.slots.push(slot);
    this.values.push(result);
  }

  failAll(error: Error): void {
    this.failure = error;
  }

  /** The result of `slot`: asked for once per slot, in ascending order. */
  take(slot: number): WriteResult {
    if (this.failure !== undefined) return this.failure;
    if (this.cursor < this.slots.length && this.slots[this.cursor] === slot) return this.values[this.cursor++];
    return undefined;
  }
}

export class Replica {
  private readonly engine: StorageEngine;
  private readonly config: ReplicaConfig;
  private readonly sink: ResponseSink;
  /** Decoded headers, reused: one for the request being handled, one for a write being queued or an envelope item being applied. */
  private readonly header = newRequestHeader();
  private readonly itemHeader = newRequestHeader();
  /** An envelope item as a write while it is applied: one object for every item, refilled (applyEnvelopeItem). */
  private readonly itemWrite: PendingWrite = { op: 0, requestId: 0, flags: 0, key: EMPTY_BYTES, context: NO_CONTEXT, value: EMPTY_BYTES, timestampMs: 0, expiresAtMs: 0, hintOwner: -1 };
  /** Where an arriving envelope's items lie, [at, length] by item, before they are counted: grown by doubling. */
  private placesScratch = new Int32Array(2 * 1024);
  /** Keys of envelope items by length, each reused for every key of its length (reusedKey). */
  private readonly keysByLength: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(REUSED_KEY_BYTES_MAX + 1);
  /** A replicated object's clock as flat [actor, counter, ...], reused from write to write (clockInto). */
  private readonly clock: number[] = [];
  /** A coordinated write's object, kept until its commit is answered (ObjectArena: no ArrayBuffer per write). */
  private readonly arena = new ObjectArena();
  /** Dots minted with a reused actor that committed storage may not show yet (pending-mints.ts). */
  private readonly pendingMints = new PendingMints();
  /** The writes taken and not yet committed, by key slot: a MINT_ONLY of such a key waits for the commit (uncommitted-writes.ts). */
  private readonly uncommitted = new UncommittedWrites();
  /** While a commit applies its writes: the marks it settles once it completed, as [key text, actor, counter]. */
  private mintNotes: (string | number)[] | undefined;
  /** The epoch the last completed commit persisted (MINT_ONLY's fresh epochs are bounded beyond it). */
  private epochStored: number;
  readonly stats: Float64Array;
  private queued: Queued[] = [];
  /** Writes in `queued`, an envelope's items each counted. */
  private queuedWriteCount = 0;
  private commitsInFlight = 0;
  /** The commit asked for whose transaction has not started yet: it will take every write queued by then. */
  private commitAsked: Promise<void> | undefined;
  /** This node's current actor epoch (version/actor.ts); persisted with the writes that use it. */
  private epoch: number;
  private epochUnsaved = false;
  /**
   * Actors of an older epoch are never reused (version/actor.ts): raised
   * past every epoch used so far at start, in case commits were lost or the
   * store restored, and whenever a key comes back after this node forgot it.
   */
  private epochMin: number;
  private lastCommit: Promise<unknown> = Promise.resolve();
  /** Hints held per owner, kept current as writes commit (published in stats). */
  private hintCounts: Map<number, number>;
  /** The highest leader term told for each ring partition (persisted with the write that learnt it). */
  private readonly terms: Map<number, number>;
  /**
   * Partitions this node leads, with the term and the sequence of its last
   * version. In memory only: a restarted node has forgotten its sequence, so
   * it refuses leader writes until the coordinator makes it leader again under
   * a new term (whose versions exceed every one it ordered before).
   */
  private readonly leading = new Map<number, { term: number; sequence: number }>();

  constructor(engine: StorageEngine, config: ReplicaConfig, sink: ResponseSink, stats: Float64Array) {
    assert.ok(stats.length >= NODE_STAT_SLOTS);
    this.engine = engine;
    this.config = config;
    this.sink = sink;
    this.stats = stats;
    this.hintCounts = engine.hintCounts();
    this.publishHintCounts();
    this.terms = engine.readTerms();
    publishTermMax(stats, this.terms);
    this.epoch = Math.min(engine.readEpoch() + EPOCH_RESTART_MARGIN, EPOCH_MAX);
    this.epochMin = this.epoch + 1;
    this.epochStored = this.epoch;
    // Persisted before any write can use it; ordered before every later commit.
    // A failure here surfaces again, as an error, on the first write's commit.
    engine.write((batch) => batch.writeEpoch(this.epoch))?.catch(() => this.count(NodeStat.ERRORS));
  }

  /** One of the counters shared with the coordinator (node-stats.ts; the constructor checked every slot exists). */
  private counter(stat: number): number {
    return this.stats[stat]!;
  }

  private count(stat: number, by = 1): void {
    this.stats[stat] = this.counter(stat) + by;
  }

  get hasCommitsInFlight(): boolean {
    return this.commitsInFlight > 0;
  }

  /** A crash: writes queued for the next commit are lost, unanswered (the coordinator already failed them). */
  dropQueued(): void {
    this.release(this.queued);
    this.queued = [];
    this.queuedWriteCount = 0;
    this.forgetPendingMints();
  }

  /**
   * Forget every pending mint's mark, and with them how far this node's
   * current actors got on those keys: none is reused (actor.ts epochMin), so
   * each key's next write here takes a fresh epoch, as after a restart.
   */
  private forgetPendingMints(): void {
    if (this.pendingMints.size === 0) return;
    this.pendingMints.clear();
    this.epochMin = this.epoch + 1;
  }

  /** Settles when the newest commit (and so, in order, every earlier one) is answered. */
  committed(): Promise<unknown> {
    return this.lastCommit;
  }

  /**
   * `handle`, but a request that cannot be served (a storage error, a frame
   * that fails its checks) is answered with an error and the node goes on:
   * one bad request never stops a node or touches stored data.
   */
  handleSafely(bytes: Uint8Array, view: DataView, offset: number, length: number): void {
    try {
      this.handle(bytes, view, offset, length);
    } catch (error) {
      this.count(NodeStat.ERRORS);
      const op = view.getUint8(offset + Request.OP);
      const requestId = view.getUint32(offset + Request.REQUEST_ID, true);
      this.sink.respond(op, Status.ERROR, requestId, new TextEncoder().encode(toError(error).message));
    }
  }

  /** Handle one request message. Reads answer at once; writes wait for `commit()`. */
  handle(bytes: Uint8Array, view: DataView, offset: number, length: number): void {
    const { op, flags, requestId, keyBytes, contextPairs, valueBytes, keyAt, hintOwner, valueAt: valueStart } = decodeRequestHeader(view, offset, length, this.header);
    assert.ok(hintOwner !== this.config.nodeId, 'a node cannot hold hints for itself');
    if (op === Op.GET) return this.get(requestId, bytes.subarray(keyAt, keyAt + keyBytes), hintOwner);
    if (op === Op.PING) return this.sink.respond(op, Status.OK, requestId, undefined);
    if (op === Op.WRITE_BATCH) {
      assert.ok(keyBytes === 0 && contextPairs === 0 && hintOwner < 0, 'a write envelope has no key, context or hint owner of its own');
      return this.handleEnvelope(requestId, bytes, valueStart, valueBytes, (flags & RequestFlag.MINT_ONLY) !== 0);
    }
    // A putMany item too large for an envelope: minted and answered now, as in one (handleEnvelope), or else queued as a PUT.
    if (op === Op.PUT && (flags & RequestFlag.MINT_ONLY) !== 0 && hintOwner < 0 && this.mintsNow(uncommittedSlotOf(bytes, keyAt, keyBytes))) {
      return this.sink.respond(op, Status.OK, requestId, this.mintNow(this.writeOf(bytes, view, this.header)));
    }
    if (op === Op.HINTS) return this.listHints(requestId, hintOwner, bytes.subarray(keyAt, keyAt + keyBytes), view, valueStart, valueBytes);
    if (op === Op.PARTITION_SCAN) return this.scanPartitions(requestId, bytes.subarray(keyAt, keyAt + keyBytes), bytes.subarray(valueStart, valueStart + valueBytes));
    if (op === Op.ORDERED_GET) return this.orderedGet(requestId, bytes.subarray(keyAt, keyAt + keyBytes), bytes.subarray(valueStart, valueStart + valueBytes));
    if (op === Op.RANGE) return this.range(requestId, bytes.subarray(keyAt, keyAt + keyBytes), bytes.subarray(valueStart, valueStart + valueBytes), timestampMsOf(view, offset));
    if (!WRITE_OPS.has(op)) assert.fail(`unknown op ${op}`);
    this.queueWrite(bytes, view, offset, length);
  }

  /**
   * A write envelope (wire.ts): its items are applied at the next commit,
   * from the envelope's bytes, and answered through an EnvelopeAnswer. The
   * envelope is checked whole here, before any item is queued; an item that
   * fails its own checks fails alone, when the envelope is applied.
   */
  private handleEnvelope(requestId: number, bytes: Uint8Array, valueAt: number, valueBytes: number, mintsOnly: boolean): void {
    // One copy for all the items, whose keys and values are read from it: the
    // ring's bytes are released before the commit runs.
    const owned = copyBytes(bytes, valueAt, valueAt + valueBytes);
    const view = new DataView(owned.buffer, owned.byteOffset, owned.byteLength);
    const count = forEachEnvelopeItem(view, 0, owned.byteLength, true, this.placeItem);
    // An empty envelope is answered at once.
    const answer = new EnvelopeAnswer(this.sink, requestId, count);
    if (count === 0) return;
    const places = this.placesScratch.slice(0, 2 * count);
    const slots = new Int32Array(count);
    const left = this.takeItems(owned, view, places, slots, answer, mintsOnly);
    if (left === 0) return;
    // The minted versions go back now, not with the envelope's commit: the coordinator replicates them meanwhile.
    if (left < count) answer.sendAnswered();
    this.queued.push(new QueuedEnvelope(owned, view, places, slots, answer));
    this.queuedWriteCount += left;
  }

  /**
   * An arriving envelope's items, in item order: with `mintsOnly`, each
   * MINT_ONLY PUT that may be minted now (`mintsNow`) is minted and answered
   * (`mintNow`), its place marked answered (length 0) and its slot -1; every
   * other item is counted as an uncommitted write of its key until its
   * commit ends. A MINT_ONLY PUT of a key written earlier and not committed
   * yet (by an earlier item of this envelope too) is minted by the next
   * commit, which reads that write (mintInCommit). Returns the items left for it.
   */
  private takeItems(bytes: Uint8Array, view: DataView, places: Int32Array, slots: Int32Array, answer: EnvelopeAnswer, mintsOnly: boolean): number {
    let left = 0;
    for (let index = 0; index < slots.length; index++) {
      const at = places[2 * index]!;
      const keyBytes = Math.max(0, Math.min(view.getUint32(at + Request.KEY_BYTES, true), places[2 * index + 1]! - Request.HEADER_BYTES));
      const slot = uncommittedSlotOf(bytes, at + Request.HEADER_BYTES, keyBytes);
      const mintOnly = mintsOnly && view.getUint8(at + Request.OP) === Op.PUT && (view.getUint8(at + Request.FLAGS) & RequestFlag.MINT_ONLY) !== 0;
      if (!mintOnly || !this.mintsNow(slot)) {
        this.uncommitted.add(slot);
        slots[index] = slot;
        left++;
        continue;
      }
      slots[index] = -1;
      let result: WriteResult;
      try {
        const item = decodeRequestHeader(view, at, places[2 * index + 1]!, this.itemHeader);
        if (item.requestId !== index) assert.fail(`envelope item ${index} carries another index`);
        result = this.mintNow(this.writeOf(bytes, view, item));
      } catch (error) {
        // A bad item fails alone, as in a commit (applyEnvelopeItem).
        result = toError(error);
      }
      places[2 * index + 1] = 0;
      this.answerOne(Op.PUT, index, result, answer);
    }
    return left;
  }

  /**
   * A MINT_ONLY PUT (wire.ts): the version `coordinate` would store, minted
   * from the key's committed object, answered at once and stored nowhere
   * yet. The coordinator sends it as REPLICATE to every replica, this node
   * included, where it joins the replicas' writes in one commit (issue 15
   * target 4: a batch cost each node the coordinated writes' commit, then
   * the replicas' one or two). Own data only: a stand-in's PUT stores its
   * hint as before.
   */
  private mintNow(write: PendingWrite): Uint8Array {
    if (write.hintOwner >= 0) assert.fail('a MINT_ONLY PUT is for the node\'s own data');
    if (this.epoch - this.epochStored >= EPOCHS_UNSTORED_MAX) assert.fail('mintsNow bounds the epochs taken outside commits');
    this.count(NodeStat.PUTS);
    return this.mintVersion(this.engine.get(write.key), write, true, true);
  }

  /**
   * Whether a MINT_ONLY PUT of the key in `slot` may be minted now, from
   * committed storage: no write of that key waits for a commit here (a mint
   * that read past one would not supersede it: uncommitted-writes.ts), and
   * the fresh epochs taken outside commits are within EPOCHS_UNSTORED_MAX.
   * Otherwise it is queued for the next commit, which mints it from the
   * transaction's view and answers it when the commit ends (mintInCommit).
   */
  private mintsNow(slot: number): boolean {
    return !this.uncommitted.has(slot) && this.epoch - this.epochStored < EPOCHS_UNSTORED_MAX;
  }

  /** `writes` left the node's uncommitted writes: their commit ended (committed or failed), or they were dropped. */
  private release(writes: readonly Queued[]): void {
    for (const write of writes) {
      if (write instanceof QueuedEnvelope) {
        for (const slot of write.slots) if (slot >= 0) this.uncommitted.remove(slot);
      } else if (write.uncommittedSlot !== undefined) this.uncommitted.remove(write.uncommittedSlot);
    }
  }

  /** forEachEnvelopeItem's visit of an arriving envelope: made once, not a closure per envelope. */
  private readonly placeItem = (at: number, length: number, index: number): void => {
    if (2 * index + 2 > this.placesScratch.length) {
      const grown = new Int32Array(this.placesScratch.length * 2);
      grown.set(this.placesScratch);
      this.placesScratch = grown;
    }
    this.placesScratch[2 * index] = at;
    this.placesScratch[2 * index + 1] = length;
  };

  /**
   * Queue a checked write request for the next commit. Its bytes are ring
   * memory: its key and value are copied.
   */
  private queueWrite(bytes: Uint8Array, view: DataView, offset: number, length: number): void {
    const { op, flags, requestId, keyBytes, contextPairs, valueBytes, hintOwner, keyAt, contextAt, valueAt, timestampMs, expiresAtMs } = decodeRequestHeader(view, offset, length, this.itemHeader);
    checkHintOwner(op, hintOwner);
    const uncommittedSlot = uncommittedSlotOf(bytes, keyAt, keyBytes);
    this.uncommitted.add(uncommittedSlot);
    this.queued.push({
      op,
      requestId,
      flags,
      key: copyBytes(bytes, keyAt, keyAt + keyBytes),
      context: contextOf(view, contextAt, contextPairs),
      value: copyBytes(bytes, valueAt, valueAt + valueBytes),
      timestampMs,
      expiresAtMs,
      hintOwner,
      uncommittedSlot,
    });
    this.queuedWriteCount++;
  }

  private get(requestId: number, key: Uint8Array, hintOwner: number): void {
    this.count(NodeStat.GETS);
    const stored = hintOwner < 0 ? this.engine.get(key) : this.engine.getHint(hintOwner, key);
    this.sink.respond(Op.GET, stored === undefined ? Status.NOT_FOUND : Status.OK, requestId, stored);
  }

  /** A page of the hints held for `owner`, for the coordinator to hand off (Dynamo §4.6). */
  private listHints(requestId: number, owner: number, afterKey: Uint8Array, view: DataView, valueAt: number, valueBytes: number): void {
    assert.ok(owner >= 0, 'HINTS needs a hint owner');
    assert.equal(valueBytes, 4, 'HINTS takes a u32 entry limit');
    const limit = Math.min(view.getUint32(valueAt, true), LIST_ENTRIES_MAX);
    const entries = boundedByBytes(this.engine.hintsOf(owner, copyBytes(afterKey), limit));
    this.sink.respond(Op.HINTS, Status.OK, requestId, encodeEntries(entries));
  }

  /** A consistent read: only the leader of the request's term answers (a deposed one would be stale). */
  private orderedGet(requestId: number, key: Uint8Array, value: Uint8Array): void {
    this.count(NodeStat.GETS);
    const fields = decodeOrderedFields(value);
    const refusal = this.leaderRefusal(fields);
    if (refusal !== undefined) return this.sink.respond(Op.ORDERED_GET, refusal.status, requestId, refusal.payload);
    const stored = this.engine.get(key);
    this.sink.respond(Op.ORDERED_GET, stored === undefined ? Status.NOT_FOUND : Status.OK, requestId, stored);
  }

  /** One replica's live ordered values in [start, end): a Query's or Scan's page (DESIGN.md §2). */
  private range(requestId: number, start: Uint8Array, value: Uint8Array, nowMs: number): void {
    this.count(NodeStat.GETS);
    const fields = decodeOrderedFields(value);
    // A term asks for the leader's copy (a consistent range); 0 for any replica's.
    const refusal = fields.term > 0 ? this.leaderRefusal(fields) : undefined;
    if (refusal !== undefined) return this.sink.respond(Op.RANGE, refusal.status, requestId, refusal.payload);
    const { limit, bytesMax, reverse, end } = decodeRangePayload(value.subarray(ORDERED_FIELDS_BYTES));
    // The page's bytes are the values' (DESIGN.md §5: the 1 MB page counts item bytes).
    const live = (object: Uint8Array) => {
      const entry = orderedEntryOf(decodeObject(object));
      return entry !== undefined && isLive(entry.sibling, nowMs) ? entry.sibling.value.byteLength : -1;
    };
    const page = this.engine.range(copyBytes(start), copyBytes(end), reverse, Math.max(1, Math.min(limit, RANGE_ENTRIES_MAX)), Math.max(1, Math.min(bytesMax, LIST_BYTES_MAX)), live);
    this.sink.respond(Op.RANGE, Status.OK, requestId, encodeRangePage(page.more, page.entries));
  }

  /** Why this node cannot serve as the partition's leader in the request's term, or undefined if it can. */
  private leaderRefusal(fields: OrderedFields): Refusal | undefined {
    const known = this.terms.get(fields.partition) ?? 0;
    const leading = this.leading.get(fields.partition);
    if (fields.term < known || leading === undefined || leading.term !== fields.term) return staleTerm(known);
    return undefined;
  }

  /** A page of own objects in the requested partitions, to stream a range to a new owner (Dynamo §4.9). */
  private scanPartitions(requestId: number, afterKey: Uint8Array, value: Uint8Array): void {
    const { entriesMax, partitionBits, bitmap } = decodeScanRequest(value);
    const page = this.engine.scan(copyBytes(afterKey), { partitionBits, bitmap }, Math.min(entriesMax, LIST_ENTRIES_MAX), SCAN_EXAMINE_MAX);
    const entries = boundedByBytes(page.entries);
    // Cut short by bytes: continue after the last entry sent.
    const next = entries.length < page.entries.length ? entries[entries.length - 1]!.key : page.next;
    this.sink.respond(Op.PARTITION_SCAN, Status.OK, requestId, encodeScanPage(next, entries));
  }

  /**
   * Commit every queued write in one transaction (group commit), then answer
   * them all. The transaction takes what is queued when it starts, not when
   * it is asked for: with a durable engine it starts later, on lmdb-js's
   * writer thread, and a commit asked for meanwhile is that same one (the
   * rest of a putMany's batch, which arrives while the first part waits for
   * its transaction, joins it instead of making a second).
   *
   * `extend`, when given, is asked for more once the queued writes are
   * applied, while the transaction is still open: it may queue writes that
   * arrived meanwhile (the node thread drains the rest of a burst its ring
   * could not hold: storage-node.ts, `commitExtension`), which join this
   * commit, up to COMMIT_WRITES_MAX. So a putMany's share of a batch larger
   * than a node's ring costs one commit, not two, and the node applies the
   * rest as it comes, never waiting for it (issue 15 target 4: a commit's
   * cost grows with the pages it dirties, and two commits of one batch
   * dirty most pages twice).
   */
  commit(extend?: () => boolean): Promise<void> | undefined {
    if (this.queued.length === 0) return undefined;
    if (this.commitAsked !== undefined) return this.commitAsked;
    // In arrival order; one result slot per write, an envelope's items each their own.
    const writes: Queued[] = [];
    const results = new CommitResults();
    /** The pending mints' marks this commit settles (mintNotes). */
    const notes: (string | number)[] = [];
    let epochWritten = -1;
    let taken = false;
    const take = (): void => {
      taken = true;
      this.commitAsked = undefined;
      for (const write of this.queued) writes.push(write);
      this.queued = [];
      this.queuedWriteCount = 0;
    };
    let committed: Promise<void> | undefined;
    try {
      committed = this.engine.write((batch) => {
        take();
        this.mintNotes = notes;
        try {
          let applied = this.applyQueued(batch, writes, 0, results, 0);
          while (extend !== undefined && applied < COMMIT_WRITES_MAX && extend()) {
            const from = writes.length;
            take();
            applied = this.applyQueued(batch, writes, from, results, applied);
          }
        } finally {
          this.mintNotes = undefined;
        }
        if (this.epochUnsaved) batch.writeEpoch(this.epoch);
        this.epochUnsaved = false;
        epochWritten = this.epoch;
      });
    } catch (error) {
      if (!taken) take();
      committed = Promise.reject(error);
    }
    if (committed === undefined) {
      this.release(writes);
      this.afterSpaceDrops(writes);
      this.committedMints(notes, epochWritten);
      // Committed and as durable as promised already: answer now.
      this.answer(writes, results);
      return undefined;
    }
    const tracked = this.inFlight(
      committed.then(
        () => {
          this.release(writes);
          this.afterSpaceDrops(writes);
          this.committedMints(notes, epochWritten);
          this.answer(writes, results);
        },
        (error: unknown) => {
          // Failed before it started (lmdb-js could not begin it): its writes fail with it.
          if (!taken) take();
          this.release(writes);
          // The transaction aborted: the hint counts it applied never happened.
          this.hintCounts = this.engine.hintCounts();
          this.publishHintCounts();
          // Nor did the versions it stored: storage may never show the marked dots it settled.
          this.forgetPendingMints();
          results.failAll(toError(error));
          this.answer(writes, results);
        },
      ),
    );
    if (!taken) this.commitAsked = tracked;
    return tracked;
  }

  /** Apply `writes` from `from` on into `results` from slot `applied` on: returns the slot after the last. */
  private applyQueued(batch: WriteBatch, writes: Queued[], from: number, results: CommitResults, applied: number): number {
    for (let i = from; i < writes.length; i++) {
      const write = writes[i]!;
      if (write instanceof QueuedEnvelope) applied = this.applyEnvelope(batch, write, results, applied);
      else {
        results.set(applied++, this.applyCatching(batch, write));
        if (applied % BEAT_WRITES === 0) this.config.beat?.();
      }
    }
    return applied;
  }

  /** Apply every item of `envelope` into `results` from `applied` on: returns the slot after its last. */
  private applyEnvelope(batch: WriteBatch, envelope: QueuedEnvelope, results: CommitResults, applied: number): number {
    const places = envelope.places;
    const beat = this.config.beat;
    for (let index = 0; index < envelope.itemCount; index++) {
      const length = places[2 * index + 1]!;
      if (length === 0) continue;
      results.set(applied++, this.applyEnvelopeItem(batch, envelope, index, places[2 * index]!, length));
      if (beat !== undefined && applied % BEAT_WRITES === 0) beat();
    }
    return applied;
  }

  /**
   * One envelope item, read from the envelope's bytes into the one reused
   * `itemWrite`: its key and value are views of the envelope (LMDB copies
   * what it stores), nothing of it outlives this call but its answer.
   */
  private applyEnvelopeItem(batch: WriteBatch, envelope: QueuedEnvelope, index: number, at: number, length: number): WriteResult {
    try {
      const item = decodeRequestHeader(envelope.view, at, length, this.itemHeader);
      if (item.requestId !== index) assert.fail(`envelope item ${index} carries another index`);
      if (item.op !== Op.PUT && item.op !== Op.REPLICATE) assert.fail(`op ${item.op} cannot travel in a write envelope`);
      if (item.hintOwner === this.config.nodeId) assert.fail('a node cannot hold hints for itself');
      if (item.op === Op.REPLICATE && item.hintOwner < 0) return this.replicateItem(batch, envelope, item);
      const write = this.itemWriteOf(envelope, item);
      const space = write.hintOwner < 0 ? batch : this.hintSpace(batch, write.hintOwner);
      if (write.op !== Op.PUT) return this.replicate(space, write);
      return this.isMintOnly(write) ? this.mintInCommit(batch, write) : this.coordinate(space, write);
    } catch (error) {
      // A bad item fails alone: the envelope, the batch and the worker go on (answer counts the error).
      return toError(error);
    }
  }

  /** `item` of `envelope` as the one reused `itemWrite`, its key and value views of the envelope's bytes. */
  private itemWriteOf(envelope: QueuedEnvelope, item: RequestHeader): PendingWrite {
    return this.writeOf(envelope.bytes, envelope.view, item);
  }

  /** The request `item` of `bytes` (`view` over them) as the one reused `itemWrite`, its key and value views of `bytes`. */
  private writeOf(bytes: Uint8Array, view: DataView, item: RequestHeader): PendingWrite {
    const write = this.itemWrite;
    write.op = item.op;
    write.requestId = item.requestId;
    write.flags = item.flags;
    write.key = new Uint8Array(bytes.buffer, bytes.byteOffset + item.keyAt, item.keyBytes);
    write.context = contextOf(view, item.contextAt, item.contextPairs);
    write.value = new Uint8Array(bytes.buffer, bytes.byteOffset + item.valueAt, item.valueBytes);
    write.timestampMs = item.timestampMs;
    write.expiresAtMs = item.expiresAtMs;
    write.hintOwner = item.hintOwner;
    return write;
  }

  /**
   * An envelope's REPLICATE of the node's own data (an lww putMany's every
   * item): `replicate`, with the object read and stored where it lies in the
   * envelope and the key copied into a buffer reused for every key of its
   * length (lmdb-js copies a key when it reads or writes it). A key the node
   * does not hold yet, whose object it keeps as it came, costs no object at
   * all; anything else takes `replicate`'s merge with views of the item.
   */
  private replicateItem(batch: WriteBatch, envelope: QueuedEnvelope, item: RequestHeader): WriteResult {
    this.count(NodeStat.REPLICATES);
    const key = this.reusedKey(envelope.bytes, item.keyAt, item.keyBytes);
    const stored = batch.get(key);
    if (stored === undefined && this.keepsAsItCame(batch, key, envelope.view, item.valueAt, item.valueBytes)) {
      batch.putAt(key, envelope.bytes, item.valueAt, item.valueBytes);
      if (this.pendingMints.size > 0) this.noteStoredAt(key, envelope.view, item.valueAt);
      return undefined;
    }
    // `stored` is lmdb-js's buffer until its next read: nothing reads before the merge copies it.
    return this.mergeReplica(batch, this.itemWriteOf(envelope, item), stored);
  }

  /** The `length` bytes at `at` of `bytes` in the key buffer of that length, or a copy of their own past REUSED_KEY_BYTES_MAX. */
  private reusedKey(bytes: Uint8Array, at: number, length: number): Uint8Array {
    if (length > REUSED_KEY_BYTES_MAX) return copyBytes(bytes, at, at + length);
    let key = this.keysByLength[length];
    if (key === undefined) this.keysByLength[length] = key = new Uint8Array(length);
    // A loop: a key is tens of bytes, and `set` would need a view of the source.
    for (let i = 0; i < length; i++) key[i] = bytes[at + i]!;
    return key;
  }

  /**
   * Track a commit that completes later (on lmdb-js's writer thread): the
   * node loop waits on `committed()` instead of sleeping, so the commit's
   * callbacks get their event-loop turns. Commits complete in order, so the
   * newest one settling means every earlier one has.
   */
  private inFlight<T>(work: Promise<T>): Promise<T> {
    this.commitsInFlight++;
    const tracked = work.finally(() => {
      this.commitsInFlight--;
    });
    this.lastCommit = tracked;
    return tracked;
  }

  /** A commit completed: the marks it settled go, and the epoch it wrote is stored. */
  private committedMints(notes: (string | number)[], epochWritten: number): void {
    if (epochWritten > this.epochStored) this.epochStored = epochWritten;
    for (let i = 0; i < notes.length; i += 3) this.pendingMints.stored(notes[i] as string, notes[i + 1] as number, notes[i + 2] as number);
  }

  /**
   * A write of this commit stores `key` (own data) with the clock of the
   * object at `at` of `view`: a pending mint of the key that clock covers is
   * settled once the commit completed.
   */
  private noteStoredAt(key: Uint8Array, view: DataView, at: number): void {
    const mark = this.pendingMints.markOf(key);
    if (mark === undefined || this.mintNotes === undefined) return;
    const entries = clockInto(view, at, this.clock);
    for (let i = 0; i < entries; i++) {
      if (this.clock[2 * i] === mark[0] && this.clock[2 * i + 1]! >= mark[1]) this.mintNotes.push(keyText(key), mark[0], mark[1]);
    }
  }

  /** noteStoredAt for a decoded object. */
  private noteStored(key: Uint8Array, next: VersionedObject): void {
    const mark = this.pendingMints.markOf(key);
    if (mark === undefined || this.mintNotes === undefined) return;
    if (next.entries.some((entry) => entry.actor === mark[0] && entry.counter >= mark[1])) this.mintNotes.push(keyText(key), mark[0], mark[1]);
  }

  /** A dropped space took hints with it: recount them (rare: once per dropped table). */
  private afterSpaceDrops(writes: Queued[]): void {
    if (!writes.some((write) => !(write instanceof QueuedEnvelope) && write.op === Op.DROP_SPACE)) return;
    this.hintCounts = this.engine.hintCounts();
    this.publishHintCounts();
  }

  private answer(writes: Queued[], results: CommitResults): void {
    // A crash dropped what this commit would have taken (dropQueued).
    if (writes.length === 0) return;
    this.count(NodeStat.COMMITS);
    let slot = 0;
    for (let i = 0; i < writes.length; i++) {
      const write = writes[i]!;
      if (!(write instanceof QueuedEnvelope)) {
        this.answerOne(write.op, write.requestId, results.take(slot++), undefined);
        continue;
      }
      const { places, view } = write;
      for (let index = 0; index < write.itemCount; index++) {
        if (places[2 * index + 1] !== 0) this.answerOne(view.getUint8(places[2 * index]! + Request.OP), index, results.take(slot++), write.answer);
      }
    }
  }

  private answerOne(op: number, requestId: number, result: WriteResult, envelope: EnvelopeAnswer | undefined): void {
    const failed = result instanceof Error;
    if (failed) this.count(NodeStat.ERRORS);
    const refused = result instanceof Refusal;
    const status = failed ? Status.ERROR : refused ? result.status : Status.OK;
    const payload = failed ? new TextEncoder().encode(result.message) : refused ? result.payload : result;
    if (envelope !== undefined) envelope.add(op, status, requestId, payload);
    else this.sink.respond(op, status, requestId, payload);
  }

  private applyCatching(batch: WriteBatch, write: PendingWrite): Uint8Array | Error | Refusal | undefined {
    try {
      if (write.op === Op.TERM) return this.term(batch, write);
      if (write.op === Op.ORDERED_WRITE) return this.orderedWrite(batch, write);
      if (write.op === Op.ORDERED_REPLICATE) return this.orderedReplicate(batch, write);
      if (write.op === Op.DROP_SPACE) return this.dropSpace(batch, write);
      if (write.op === Op.HINT_DELIVERED) return this.hintDelivered(batch, write);
      if (write.op === Op.DROP_IF_COVERED) return this.dropIfCovered(batch, write);
      const space = write.hintOwner < 0 ? batch : this.hintSpace(batch, write.hintOwner);
      if (write.op === Op.PUT) return this.isMintOnly(write) ? this.mintInCommit(batch, write) : this.coordinate(space, write);
      if (write.op === Op.REPLICATE) return this.replicate(space, write);
      return this.purge(space, write);
    } catch (error) {
      // A bad request fails alone: the batch and the worker go on.
      return toError(error);
    }
  }

  /** A MINT_ONLY PUT of own data, which `mintsNow` held back for the commit (uncommitted-writes.ts). */
  private isMintOnly(write: PendingWrite): boolean {
    return (write.flags & RequestFlag.MINT_ONLY) !== 0 && write.hintOwner < 0;
  }

  /**
   * A MINT_ONLY PUT held back for the commit because a write of its key was
   * not committed when it arrived: minted as mintNow mints, from the
   * transaction's view (which shows every write queued before it) instead
   * of committed storage, and stored nowhere; its REPLICATE stores it, as
   * any MINT_ONLY's. Answered when the commit ends.
   */
  private mintInCommit(batch: Keyspace, write: PendingWrite): Uint8Array {
    this.count(NodeStat.PUTS);
    return this.mintVersion(batch.get(write.key), write, true, true);
  }

  /** The coordinator's write: this node is the actor of the new dot. */
  private coordinate(batch: Keyspace, write: PendingWrite): Uint8Array {
    this.count(NodeStat.PUTS);
    const own = write.hintOwner < 0;
    const encoded = this.mintVersion(batch.get(write.key), write, own, false);
    batch.put(write.key, encoded);
    if (write.expiresAtMs > 0) batch.indexExpiry(write.key, write.expiresAtMs);
    if (own && this.pendingMints.size > 0) this.noteStoredAt(write.key, viewOfBytes(encoded), encoded.byteOffset);
    return encoded;
  }

  /**
   * The version this node mints for `write` over `stored` (the key's stored
   * object, not copied yet): the new dot's actor is this node. Kept until
   * the write is answered: the arena's bytes, not the transient buffer's.
   * In its own keyspace (`own`) a key whose pending mint `stored` does not
   * show takes a fresh actor, and a dot of a reused actor is marked pending
   * until a commit stored it (pending-mints.ts): a MINT_ONLY PUT mints from
   * committed storage, which shows neither its own earlier dots nor a PUT's
   * in flight. A PUT reads its transaction's view, which shows every write
   * queued before it: the dot of an earlier PUT in flight is there, and
   * reusing its actor mints the next counter (a fresh actor for each PUT of
   * a key written faster than its commits, YCSB-B's hot keys, grew one clock
   * entry per write until objects reached ENTRIES_MAX).
   */
  private mintVersion(stored: Uint8Array | undefined, write: PendingWrite, own: boolean, mintOnly: boolean): Uint8Array {
    const tombstone = (write.flags & RequestFlag.TOMBSTONE) !== 0;
    const blind = (write.flags & RequestFlag.BLIND) !== 0;
    if (stored === undefined && write.context.length === 0) {
      // A key new here, written without a context (a putMany's every new key):
      // update's one-entry object of a fresh actor, which settle leaves as it
      // is, written straight into the arena (no object to build and encode).
      const actor = this.actorFor(undefined, NO_CONTEXT, false);
      const encoded = this.arena.encodeSingleValue(actor, 1, write.timestampMs, write.expiresAtMs, tombstone, write.value);
      this.checkObjectSize(encoded.byteLength);
      if (mintOnly) this.pendingMints.mintedFresh(actor);
      return encoded;
    }
    const local = stored === undefined ? undefined : decodeObject(copyBytes(stored));
    const sibling: Sibling = { value: write.value, timestampMs: write.timestampMs, expiresAtMs: write.expiresAtMs, tombstone };
    const context = blind && local !== undefined ? join(local) : write.context;
    this.checkForgotten(local, context.map(([actor]) => actor), false);
    const mark = own ? this.pendingMints.markOf(write.key) : undefined;
    const unseen = mark !== undefined && !shows(local, mark);
    if (unseen && mintOnly && blind) {
      const chained = this.chainedBlindMint(mark, local, context, sibling, write.key);
      if (chained !== undefined) return chained;
    }
    const actor = this.actorFor(local, context, !unseen);
    const next = this.settle(update(local, context, sibling, actor));
    this.checkEntryCount(next);
    const encoded = this.arena.encode(next);
    this.checkObjectSize(encoded.byteLength);
    const reused = local !== undefined && local.entries.some((entry) => entry.actor === actor);
    if (own && reused) this.markPending(write.key, actor, next);
    else if (mintOnly) this.pendingMints.mintedFresh(actor);
    return encoded;
  }

  /**
   * A blind MINT_ONLY of a key whose newest mint here (its mark) committed
   * storage does not show yet: minted with the mark's actor at the next
   * counter, its context the stored clock (`seen`) and the marked dot, so it
   * supersedes that mint as a blind PUT supersedes the PUTs queued before it
   * (a PUT reads its transaction's view, which shows them). Undefined when it
   * cannot chain (the actor no longer reusable, its counter at the bound):
   * then mintVersion takes a fresh actor, as it did for every such mint.
   *
   * Why: with a fresh actor per such mint, one more clock entry younger than
   * truncation's CLOCK_ENTRY_YOUNG_MS each time, a key that putMany wrote
   * faster than its node committed grew 255 entries on every replica, and
   * its concurrent blind items stayed siblings (test/hot-key-clock.test.ts).
   * No dot is minted twice: the mark is the newest dot minted with that
   * actor, and this mint takes the one after it and becomes the mark. A key
   * new here is minted by a fresh actor without a mark (marking every new
   * key cost the node threads about 4 µs per putMany key in bench:put-many),
   * so its chain starts at its first mint that reads it stored.
   */
  private chainedBlindMint(mark: PendingMint, local: VersionedObject | undefined, seen: CausalContext, sibling: Sibling, key: Uint8Array): Uint8Array | undefined {
    const [actor, , clock] = mark;
    if (!isReusableOwnActor(actor, this.config.nodeId, this.epochMin)) return undefined;
    // The marked object's whole clock, not only its dot: what that object superseded, this one has seen too (else a
    // value it superseded, absent from `local`, stays live beside this one on a replica still holding it: seed 486).
    const context = joinContexts(seen, clock);
    if (counterExhausted(actor, local, context)) return undefined;
    const next = this.settle(update(local, context, sibling, actor));
    this.checkEntryCount(next);
    const encoded = this.arena.encode(next);
    this.checkObjectSize(encoded.byteLength);
    this.markPending(key, actor, next);
    return encoded;
  }

  /** Mark the dot `next` holds of `actor`, reused (pending-mints.ts); when the marks are full, forget them all instead. */
  private markPending(key: Uint8Array, actor: number, next: VersionedObject): void {
    const entry = next.entries.find((candidate) => candidate.actor === actor);
    if (entry === undefined) return;
    if (!this.pendingMints.mark(key, actor, entry.counter, join(next))) this.forgetPendingMints();
  }

  /** A replica's write: merge the coordinator's object into ours (DVVSet sync). */
  private replicate(batch: Keyspace, write: PendingWrite): undefined {
    this.count(NodeStat.REPLICATES);
    const stored = batch.get(write.key);
    // One DataView for every item of an envelope (viewOfBytes): nothing allocated per write on the new-key path.
    if (stored === undefined && this.keepsAsItCame(batch, write.key, viewOfBytes(write.value), write.value.byteOffset, write.value.byteLength)) {
      batch.put(write.key, write.value);
      if (write.hintOwner < 0 && this.pendingMints.size > 0) this.noteStoredAt(write.key, viewOfBytes(write.value), write.value.byteOffset);
      return undefined;
    }
    return this.mergeReplica(batch, write, stored);
  }

  /**
   * For a key this replica does not hold yet, whose object (the `length`
   * bytes at `at` of `view`) came in a write: whether to keep the
   * coordinator's bytes as they are (the common path of a put), once their
   * layout is checked and their expiries indexed; the caller then stores them.
   */
  private keepsAsItCame(batch: Keyspace, key: Uint8Array, view: DataView, at: number, length: number): boolean {
    this.checkForgottenAt(view, at);
    if (this.config.conflicts !== 'siblings' && !this.settlesAsItCame(view, at, length)) return false;
    if (checkObjectAt(view, at, length)) indexExpiriesAt(batch, key, view, at);
    return true;
  }

  /** `replicate` past its new-key path: `stored` is what `batch.get` read for the key (not copied yet). */
  private mergeReplica(batch: Keyspace, write: PendingWrite, stored: Uint8Array | undefined): undefined {
    const incoming = decodeObject(write.value);
    const local = stored === undefined ? undefined : decodeObject(copyBytes(stored));
    if (local !== undefined) this.checkForgotten(local, incoming.entries.map((entry) => entry.actor), write.hintOwner < 0);
    const next = this.settle(local === undefined ? incoming : sync(local, incoming));
    this.checkEntryCount(next);
    // Noted only once storage holds `next` (already, or by the put below): a refused write settles no mark.
    const notes = write.hintOwner < 0 && this.pendingMints.size > 0;
    // The same clock: nothing to store, unless the merge cleared a contextOnly mark (a value of that actor reached a
    // replica, which the forced truncation must know here too: dotted-version-vector.ts truncate).
    if (local !== undefined && equal(local, next) && sameContextOnly(local, next)) {
      if (notes) this.noteStored(write.key, next);
      return undefined;
    }
    // A new key whose object settles as it came (an lww put's one value): its checked bytes as they are.
    const encoded = next === incoming ? write.value : encodeObjectTransient(next);
    this.checkObjectSize(encoded.byteLength);
    batch.put(write.key, encoded);
    if (notes) this.noteStored(write.key, next);
    for (const sibling of siblingsOf(incoming)) {
      if (sibling.expiresAtMs > 0) batch.indexExpiry(write.key, sibling.expiresAtMs);
    }
    return undefined;
  }

  /**
   * The coordinator tells the partition's term (DESIGN.md §3): an older one is
   * refused; a newer one is persisted in this transaction, so a restart
   * cannot forget it, and from now on writes, replications and consistent
   * reads of older terms are refused: a deposed leader gathers no more acknowledgements.
   */
  private term(batch: WriteBatch, write: PendingWrite): Refusal | undefined {
    const fields = decodeOrderedFields(write.value);
    const fresh = fields.term > (this.terms.get(fields.partition) ?? 0);
    const refusal = this.learnTerm(batch, fields);
    if (refusal !== undefined) return refusal;
    // Only the first TERM of a term makes the leader (the election sends it once, before any other
    // request of that term): a replayed one (a duplicated frame) must not restart the sequence,
    // which would mint a version of the partition twice (stream records are keyed by it).
    if ((fields.flags & OrderedFlag.LEADS) !== 0 && fresh) this.leading.set(fields.partition, { term: fields.term, sequence: 0 });
    return undefined;
  }

  /** Refuse an older term; persist a newer one (and stop leading under an older one). */
  private learnTerm(batch: WriteBatch, fields: OrderedFields): Refusal | undefined {
    const known = this.terms.get(fields.partition) ?? 0;
    if (fields.term < known) return staleTerm(known);
    if (fields.term > known) {
      this.terms.set(fields.partition, fields.term);
      batch.writeTerm(fields.partition, fields.term);
      // Seen before its commit: it only raises the terms a coordinator opens next, which is always safe.
      if (fields.term > this.counter(NodeStat.TERM_MAX)) this.stats[NodeStat.TERM_MAX] = fields.term;
      const leading = this.leading.get(fields.partition);
      if (leading !== undefined && leading.term < fields.term) this.leading.delete(fields.partition);
    }
    return undefined;
  }

  /**
   * The leader's write: compare-and-set inside this transaction (so of
   * concurrent writers exactly one sees its expectation hold), then the next
   * version of the leader's order. Answers the stored object, which the
   * coordinator replicates.
   */
  private orderedWrite(batch: WriteBatch, write: PendingWrite): Uint8Array | Refusal {
    this.count(NodeStat.PUTS);
    const fields = decodeOrderedFields(write.value);
    const refusal = this.leaderRefusal(fields);
    if (refusal !== undefined) return refusal;
    const leading = this.leading.get(fields.partition)!;
    if (leading.sequence + 1 >= TERM_SPAN) return staleTerm(this.terms.get(fields.partition) ?? 0);
    const stored = batch.get(write.key);
    const local = this.orderedLocal(stored);
    const live = local !== undefined && isLive(local.sibling, write.timestampMs);
    const holds = fields.expect === ExpectKind.NONE || (fields.expect === ExpectKind.ABSENT ? !live : live && local.version === fields.expectVersion);
    if (!holds) return new Refusal(Status.CONFLICT, live ? copyBytes(stored!) : undefined);
    const multi = (fields.flags & OrderedFlag.ALSO) !== 0;
    const payload = write.value.subarray(ORDERED_FIELDS_BYTES);
    const { value, also } = multi ? decodeAlsoPayload(payload) : { value: payload, also: [] };
    const sequence = leading.sequence + 1;
    const version = nextVersion(local?.version ?? 0, fields.term, sequence);
    const tombstone = (write.flags & RequestFlag.TOMBSTONE) !== 0;
    const encoded = encodeObject(orderedObject(version, { value, timestampMs: write.timestampMs, expiresAtMs: write.expiresAtMs, tombstone }));
    this.checkObjectSize(encoded.byteLength);
    // Every key's object is made and checked before any is written: the write is all or nothing.
    // Every key lies in the write's ring partition (the coordinator checked it against its ring:
    // ordered-keys.ts): the same token, or a stream record's key at its ring partition's first token.
    const objects: KeyedObject[] = [];
    for (const entry of also) {
      const key = (entry.flags & AlsoFlag.APPEND_VERSION) !== 0 ? withVersionSuffix(entry.key, version) : copyBytes(entry.key);
      assert.ok(key[0] === PARTITIONED_KEY_MARKER && isWellFormedPartitionedKey(key), 'every key of a multi-key write is a partitioned key');
      const previous = this.orderedLocal(batch.get(key));
      // A version-keyed record is written once: one there already means this term's sequence was replayed.
      if ((entry.flags & AlsoFlag.APPEND_VERSION) !== 0 && previous !== undefined) return staleTerm(this.terms.get(fields.partition) ?? 0);
      const object = encodeObject(orderedObject(nextVersion(previous?.version ?? 0, fields.term, sequence), {
        value: entry.value,
        timestampMs: write.timestampMs,
        expiresAtMs: 0,
        tombstone: (entry.flags & AlsoFlag.TOMBSTONE) !== 0,
      }));
      this.checkObjectSize(object.byteLength);
      objects.push({ key, object });
    }
    leading.sequence = sequence;
    batch.put(write.key, encoded);
    if (write.expiresAtMs > 0) batch.indexExpiry(write.key, write.expiresAtMs);
    for (const { key, object } of objects) batch.put(key, object);
    return multi ? encodeKeyedObjects(encoded, objects) : encoded;
  }

  /** The leader-ordered entry a stored object holds (a put's object on an ordered key is refused). */
  private orderedLocal(stored: Uint8Array | undefined): ReturnType<typeof orderedEntryOf> {
    const local = stored === undefined ? undefined : orderedEntryOf(decodeObject(copyBytes(stored)));
    if (stored !== undefined && local === undefined) throw new Error('the key holds a value written by put: leader-ordered and plain writes never mix on one key');
    return local;
  }

  /** A replica's copy of the leader's write, fenced by term: the greater version stays (DVVSet sync of one-entry objects). */
  private orderedReplicate(batch: WriteBatch, write: PendingWrite): Refusal | undefined {
    const fields = decodeOrderedFields(write.value);
    const refusal = this.learnTerm(batch, fields);
    if (refusal !== undefined) return refusal;
    const payload = write.value.subarray(ORDERED_FIELDS_BYTES);
    const { object, also } = (fields.flags & OrderedFlag.ALSO) !== 0 ? decodeKeyedObjects(payload) : { object: payload, also: [] };
    // Checked before any key is written: a multi-key write is all or nothing on every replica.
    for (const entry of [{ key: write.key, object }, ...also]) {
      assert.ok(orderedEntryOf(decodeObject(entry.object)) !== undefined, 'ORDERED_REPLICATE carries leader-ordered objects');
      assert.ok(entry.key === write.key || (entry.key[0] === PARTITIONED_KEY_MARKER && isWellFormedPartitionedKey(entry.key)), 'every also key of a multi-key write is a partitioned key');
      this.orderedLocal(batch.get(entry.key));
    }
    this.replicate(batch, { ...write, value: object });
    for (const entry of also) this.replicate(batch, { ...write, key: copyBytes(entry.key), value: entry.object });
    return undefined;
  }

  /** Part of a dropped space: up to keysMax keys, no tombstones (spaces are never reused). */
  private dropSpace(batch: WriteBatch, write: PendingWrite): Uint8Array {
    const { space, keysMax } = decodeDropSpace(write.value);
    const more = batch.removeSpace(space, Math.max(1, Math.min(keysMax, LIST_ENTRIES_MAX * 16)));
    return new Uint8Array([more ? 1 : 0, 0, 0, 0]);
  }

  /**
   * Remove a tombstone, but only if nothing newer than the purged version
   * arrived meanwhile: a concurrent put must survive the purge.
   */
  private purge(batch: Keyspace, write: PendingWrite): undefined {
    this.count(NodeStat.PURGES);
    const stored = batch.get(write.key);
    if (stored === undefined) return undefined;
    const local = decodeObject(copyBytes(stored));
    const purged = decodeObject(write.value);
    if (descends(purged, local) && siblingsOf(local).every((s) => s.tombstone)) batch.remove(write.key);
    return undefined;
  }

  /**
   * The hints kept for `owner`, as a keyspace: the same coordinate/replicate
   * code writes them. Hints carry no expiry index: an expired hint is handed
   * off like any other and expires on its owner.
   */
  private hintSpace(batch: WriteBatch, owner: number): Keyspace {
    return {
      get: (key) => batch.getHint(owner, key),
      put: (key, bytes) => {
        if (batch.getHint(owner, key) === undefined) this.countHint(owner, 1);
        batch.putHint(owner, key, bytes);
      },
      remove: (key) => {
        if (batch.getHint(owner, key) !== undefined) this.countHint(owner, -1);
        batch.removeHint(owner, key);
      },
      indexExpiry: () => {},
    };
  }

  /** The owner merged the delivered object: drop the hint unless a newer write reached it since. */
  private hintDelivered(batch: WriteBatch, write: PendingWrite): undefined {
    const stored = batch.getHint(write.hintOwner, write.key);
    if (stored === undefined) return undefined;
    if (descends(decodeObject(write.value), decodeObject(copyBytes(stored)))) {
      batch.removeHint(write.hintOwner, write.key);
      this.countHint(write.hintOwner, -1);
    }
    return undefined;
  }

  /**
   * Data that moved to other owners: remove it once they hold all of it (the
   * given object covers ours). OK: dropped. NOT_FOUND: nothing was stored
   * (dropped already). CONFLICT: kept, because what is stored is newer than
   * the copy handed over (a write landed after the copy was read): the holder
   * still holds a copy the replicas may lack.
   */
  private dropIfCovered(batch: WriteBatch, write: PendingWrite): Refusal | undefined {
    const stored = batch.get(write.key);
    if (stored === undefined) return NOT_STORED;
    if (!descends(decodeObject(write.value), decodeObject(copyBytes(stored)))) return KEPT_NEWER;
    batch.remove(write.key);
    return undefined;
  }

  /** One hint more or less: the owner's slot and the total, not a full republish (this is on the hinted-write path). */
  private countHint(owner: number, delta: number): void {
    const count = Math.max(0, (this.hintCounts.get(owner) ?? 0) + delta);
    if (count === 0) this.hintCounts.delete(owner);
    else this.hintCounts.set(owner, count);
    if (owner < NODE_IDS_MAX) this.stats[HINTS_FOR_BASE + owner] = count;
    this.stats[NodeStat.HINTS] = Math.max(0, this.counter(NodeStat.HINTS) + delta);
  }

  /** Every owner's count from `hintCounts`: at start, and after an aborted transaction reloaded them. */
  private publishHintCounts(): void {
    let total = 0;
    this.stats.fill(0, HINTS_FOR_BASE, NODE_STAT_SLOTS);
    for (const [owner, count] of this.hintCounts) {
      total += count;
      if (owner < NODE_IDS_MAX) this.stats[HINTS_FOR_BASE + owner] = count;
    }
    this.stats[NodeStat.HINTS] = total;
  }

  /** An lww object (the `length` bytes at `at` of `view`) that `settle` leaves as it is: one value, and no more entries than truncation keeps. */
  private settlesAsItCame(view: DataView, at: number, length: number): boolean {
    if (length < 2 || view.getUint8(at + 1) > this.config.clockEntriesMax) return false;
    return soleSiblingAt(view, at, length) >= 0;
  }

  /**
   * Refuse a write whose settled object keeps more clock entries than an
   * object holds (ENTRIES_MAX, a u8 on disk): truncation drops only entries
   * without values, so that many entries hold concurrent values (siblings of
   * as many actors). Refused, not cut: dropping a value would lose a write
   * this store acknowledged, which Dynamo's truncation (§4.4) never does;
   * Riak refuses a write past max_siblings the same way. The replica keeps
   * what it stored; a put that carries a read's context supersedes the
   * values it saw and so brings the object back within the bound. Before, the
   * encoder's assertion failed the request as an internal error.
   */
  private checkEntryCount(object: VersionedObject): void {
    if (object.entries.length > ENTRIES_MAX) {
      throw new Error(`${ErrorCode.SIBLINGS_FULL}: the key's versions would hold ${object.entries.length} clock entries with values of concurrent writers, over ${ENTRIES_MAX}: resolve its siblings with a put that carries their context`);
    }
  }

  private checkObjectSize(bytes: number): void {
    if (bytes > this.config.objectBytesMax) {
      // The code leads the text the coordinator receives: a deterministic refusal, not a failure to retry (operations.ts).
      throw new Error(`${ErrorCode.SIBLINGS_FULL}: the key's versions would take ${bytes} bytes, over objectBytesMax (${this.config.objectBytesMax}): resolve its siblings with a put that carries their context`);
    }
  }

  /**
   * A key that comes back after this node forgot it may carry the node's
   * actors behind the dots they minted: none of them is reused (actor.ts).
   */
  private checkForgotten(local: VersionedObject | undefined, actors: readonly number[], storing: boolean): void {
    if (!namesForgottenActor(local, actors, this.config.nodeId, this.epochMin)) return;
    if (this.pendingMints.freshCount > 0 && this.onlyFreshInFlight(local, actors, storing)) return;
    this.epochMin = this.epoch + 1;
  }

  /** Whether every own reusable actor `actors` name that `local` does not show is a MINT_ONLY's fresh actor still on its way (pending-mints.ts). */
  private onlyFreshInFlight(local: VersionedObject | undefined, actors: readonly number[], storing: boolean): boolean {
    for (const actor of actors) {
      if (!isReusableOwnActor(actor, this.config.nodeId, this.epochMin)) continue;
      if (local !== undefined && local.entries.some((entry) => entry.actor === actor)) continue;
      if (!this.pendingMints.isFreshInFlight(actor, storing)) return false;
    }
    return true;
  }

  /** checkForgotten for a key this node does not hold, of the object at `at` of `view`, read in place. */
  private checkForgottenAt(view: DataView, at: number): void {
    const entries = clockInto(view, at, this.clock);
    for (let i = 0; i < entries; i++) {
      const actor = this.clock[2 * i]!;
      // A MINT_ONLY's fresh actor coming back to be stored: not forgotten (pending-mints.ts).
      if (isReusableOwnActor(actor, this.config.nodeId, this.epochMin) && !this.pendingMints.isFreshInFlight(actor, true)) {
        this.epochMin = this.epoch + 1;
        return;
      }
    }
  }

  /**
   * Reuse this node's actor only where the key's local clock shows it with
   * every dot it minted (epoch at least epochMin); otherwise take a fresh
   * epoch, so no dot is ever minted twice.
   */
  private actorFor(local: VersionedObject | undefined, context: CausalContext, reuse: boolean): number {
    const reused = reuse ? actorToReuse(local, this.config.nodeId, this.epochMin) : -1;
    if (reused >= 0 && !counterExhausted(reused, local, context)) return reused;
    // A new key here, an actor this node may no longer reuse (actor.ts), or
    // one whose counter a context (forged: contexts come from users) pushed to
    // the bound: a fresh epoch's counter starts over, so the next event is
    // always a safe integer.
    let actor: number;
    do actor = this.freshActor();
    while (counterExhausted(actor, local, context));
    return actor;
  }

  private freshActor(): number {
    assert.ok(this.epoch < EPOCH_MAX, 'actor epochs exhausted');
    this.epoch++;
    this.epochUnsaved = true;
    return actorOf(this.config.nodeId, this.epoch);
  }

  private settle(object: VersionedObject): VersionedObject {
    const resolved = this.config.conflicts === 'lww' ? lastWriterWins(object) : object;
    return truncate(resolved, this.config.clockEntriesMax, CLOCK_ENTRY_YOUNG_MS);
  }

  /**
   * Remove items whose every value has expired. Expiry times travel with the
   * value, so every replica holding a version expires it at the same instant.
   */
  sweepExpired(nowMs: number, limit: number): Promise<number> | undefined {
    try {
      return this.sweepExpiredUnsafe(nowMs, limit)?.catch(() => this.sweepFailed());
    } catch {
      this.sweepFailed();
      return undefined;
    }
  }

  /** A failed sweep changes nothing stored (its transaction aborts); the next one retries. */
  private sweepFailed(): number {
    this.count(NodeStat.ERRORS);
    return 0;
  }

  private sweepExpiredUnsafe(nowMs: number, limit: number): Promise<number> | undefined {
    const due = this.engine.dueExpiries(nowMs, limit);
    if (due.length === 0) return undefined;
    let removed = 0;
    const committed = this.engine.write((batch) => {
      for (const candidate of due) removed += this.expireOne(batch, candidate, nowMs);
    });
    // Counted once committed: with a durable engine the transaction (and so
    // the count) runs later, on lmdb-js's writer thread.
    const count = () => {
      this.count(NodeStat.EXPIRED, removed);
      return removed;
    };
    if (committed === undefined) {
      count();
      return undefined;
    }
    return this.inFlight(committed.then(count));
  }

  private expireOne(batch: WriteBatch, candidate: ExpiryCandidate, nowMs: number): number {
    batch.removeExpiry(candidate);
    const stored = batch.get(candidate.key);
    if (stored === undefined) return 0;
    const siblings = siblingsOf(decodeObject(copyBytes(stored)));
    const allExpired = siblings.every((s) => s.expiresAtMs > 0 && s.expiresAtMs <= nowMs);
    if (!allExpired) return 0;
    batch.remove(candidate.key);
    return 1;
  }

  refreshCounts(): void {
    const counts = this.engine.counts();
    this.stats[NodeStat.KEYS] = counts.keys;
    this.stats[NodeStat.BYTES] = counts.bytes;
  }
}

/**
 * Index every expiry of the object at `at` of `view` under `key`. A function
 * of its own: a closure over `batch` and `key` in the caller made V8 allocate
 * their context on every call, expiry or not (45 bytes per replicated write
 * in a sampling heap profile of the nodes).
 */
function indexExpiriesAt(batch: Keyspace, key: Uint8Array, view: DataView, at: number): void {
  forEachExpiryAt(view, at, (expiresAtMs) => batch.indexExpiry(key, expiresAtMs));
}

/** Keep a listing's answer under LIST_BYTES_MAX (at least one entry, which always fits a message). */
function boundedByBytes<T extends { key: Uint8Array; object: Uint8Array }>(entries: T[]): T[] {
  let bytes = 0;
  for (let i = 0; i < entries.length; i++) {
    bytes += entries[i]!.key.byteLength + entries[i]!.object.byteLength + 8;
    if (bytes > LIST_BYTES_MAX && i > 0) return entries.slice(0, i);
  }
  return entries;
}

/** Ops answered after the group commit. */
const WRITE_OPS: ReadonlySet<number> = new Set([Op.PUT, Op.REPLICATE, Op.PURGE, Op.HINT_DELIVERED, Op.DROP_IF_COVERED, Op.TERM, Op.ORDERED_WRITE, Op.ORDERED_REPLICATE, Op.DROP_SPACE]);

/** Whether a request of `op` only queues writes for the next commit (and reads nothing before it): a write envelope or a write. */
export function isWriteRequest(op: number): boolean {
  return op === Op.WRITE_BATCH || WRITE_OPS.has(op);
}

/**
 * Whether the request at `offset` of `view` may be drained into an open
 * transaction (commit-extension.ts): a write that reads nothing before its
 * commit. An envelope of MINT_ONLY PUTs reads committed storage to answer
 * them at once, so it waits for the transaction to close.
 */
export function joinsOpenCommit(view: DataView, offset: number): boolean {
  const op = view.getUint8(offset + Request.OP);
  if (op === Op.PUT || op === Op.WRITE_BATCH) return (view.getUint8(offset + Request.FLAGS) & RequestFlag.MINT_ONLY) === 0;
  return isWriteRequest(op);
}

function staleTerm(known: number): Refusal {
  const payload = new Uint8Array(8);
  new DataView(payload.buffer).setFloat64(0, known, true);
  return new Refusal(Status.STALE_TERM, payload);
}

function timestampMsOf(view: DataView, offset: number): number {
  return view.getFloat64(offset + Request.TIMESTAMP_MS, true);
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** Whether `actor`'s counter, as `local` or `context` knows it, leaves no room for another event within CONTEXT_COUNTER_MAX. */
function counterExhausted(actor: number, local: VersionedObject | undefined, context: CausalContext): boolean {
  for (const pair of context) if (pair[0] === actor && pair[1] >= CONTEXT_COUNTER_MAX) return true;
  if (local !== undefined) for (const entry of local.entries) if (entry.actor === actor && entry.counter >= CONTEXT_COUNTER_MAX) return true;
  return false;
}

/** An also key that ends in its write's version (u64 big-endian: such keys sort in version order). */
function withVersionSuffix(key: Uint8Array, version: number): Uint8Array {
  const out = new Uint8Array(key.byteLength + 8);
  out.set(key, 0);
  new DataView(out.buffer).setBigUint64(key.byteLength, BigInt(version));
  return out;
}

/** Ops that may name a hint owner (a stand-in's write), and the one that must. */
function checkHintOwner(op: number, hintOwner: number): void {
  if (hintOwner >= 0 && op !== Op.PUT && op !== Op.REPLICATE && op !== Op.HINT_DELIVERED) assert.fail(`op ${op} does not take a hint owner`);
  if (hintOwner < 0 && op === Op.HINT_DELIVERED) assert.fail('HINT_DELIVERED needs a hint owner');
}

/** A request's causal context, read from its bytes (the shared NO_CONTEXT when it has none). */
function contextOf(view: DataView, contextAt: number, contextPairs: number): CausalContext {
  if (contextPairs === 0) return NO_CONTEXT;
  const context: [number, number][] = [];
  for (let i = 0; i < contextPairs; i++) {
    const at = contextAt + i * CONTEXT_PAIR_BYTES;
    context.push([view.getFloat64(at, true), view.getFloat64(at + 8, true)]);
  }
  return context;
}

/** Whether `local` (the object a mint reads) shows the pending mint `mark`: else its actor must not be reused, or only to chain on it. */
function shows(local: VersionedObject | undefined, mark: PendingMint): boolean {
  return local !== undefined && local.entries.some((entry) => entry.actor === mark[0] && entry.counter >= mark[1]);
}
