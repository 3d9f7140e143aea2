/**
 * The coordinator's batches: getMany with R = 1 (SingleReadBatch) and putMany
 * (PutBatch), each one operation for many keys. The single operations live in
 * get-operation.ts and put-operation.ts, what they share in operation.ts
 * (re-exported here for the modules that import them from this file).
 */
import { copyInto } from '../bytes.js';
import { ErrorCode, RingtableError } from '../errors.js';
import { WriteQuorumTable, positionOf } from '../quorum/write-quorum.js';
import type { PendingReply } from '../transport/node-link.js';
import { Op, RequestFlag, type RequestRecord, Status, type WireKey, copyBytes, requestOf } from '../transport/wire.js';
import { isHinted } from '../ring/sloppy-quorum.js';
import { decodeObject } from '../version/object-codec.js';
import { type GetResult, resultError, resultFromBytes } from './get-result.js';
import { type Operation, type OperationHost, nodeReason, quorumError } from './operation.js';
import type { CausalContext } from '../version/dotted-version-vector.js';
import type { PutManyItems } from './put-many-items.js';
import { checkKey } from './value-codec.js';

export { BackgroundReply, type GetCallback, type Operation, type OperationHost, type PutCallback } from './operation.js';
export { GetOperation } from './get-operation.js';
export { PutOperation, type PutRequest, requestBytesOf } from './put-operation.js';

/** A batch's items read the clocks once per this many (a power of two). */
const CLOCK_READS_EVERY = 64;

/**
 * A batch checks its keys this many at a time, each chunk just before it is
 * read. The check is a tight loop over independent keys, so the CPU overlaps
 * their cache and TLB misses (a key not used lately misses on its object and
 * on its bytes); the chunk's reads then find the keys in cache when they hash
 * them and copy them into LMDB's key buffer, one dependent step after another.
 * Measured on 16-byte keys drawn at random from a million: hashing 10,000 keys
 * after checking them all took 0.9-1.3 µs per key, after checking them 64 at
 * a time 0.3 µs (scratch script, load 6-7).
 */
export const KEYS_PER_CHECK = 64;

/** What a getMany of R = 1 needs of its coordinator beyond any operation's. */
export interface BatchReadHost extends OperationHost {
  /**
   * Whether `reads` more of a batch's reads may be read in place in this
   * macrotask (direct-reads.ts bounds them per turn); when not, the batch
   * waits for `nextTurn` instead of asking node threads what it could read
   * in place a turn later.
   */
  batchReadsLeft(reads: number): boolean;
  nextTurn(run: () => void): void;
}

/**
 * getMany with R = 1: one replica per key and nothing to merge, so the batch
 * is one operation (one deadline, one completion) whose items travel as tags.
 * It keeps at most `windowMax` reads in flight, refilling as answers arrive.
 * Its keys are the caller's, checked KEYS_PER_CHECK at a time just before
 * they are read: a batch with a key that is not valid fails with that key's
 * ERR_INVALID_KEY (what it read before it is dropped; reads change nothing).
 */
export class SingleReadBatch implements PendingReply, Operation {
  readonly windowMax: number;
  callerDone = false;
  private readonly deadlines: ItemDeadlines;
  private readonly finishedItems: Uint8Array;
  get weight(): number {
    return this.windowMax;
  }
  private readonly coordinator: BatchReadHost;
  /** The caller's: read as they are until ownKeys(), and after it only those read by then. */
  private readonly keys: readonly WireKey[];
  /** Once ownKeys() copied the keys not read yet: where they are read from (OwnedKeys). */
  private owned: OwnedKeys | undefined;
  /** Keys before this one are checked (checkKey). */
  private checkedEnd = 0;
  private readonly keyBytesMax: number;
  /** Waiting for the next macrotask (this one's reads in place are used up). */
  private waitingForTurn = false;
  private readonly route: (key: WireKey) => number;
  private readonly results: (GetResult | undefined)[];
  private readonly get: RequestRecord = requestOf(Op.GET, '', undefined);
  private readonly done: (error: RingtableError | undefined) => void;
  private next = 0;
  private finished = 0;
  private ended = false;
  private filling = false;
  /** While fill runs: the monotonic and wall clocks read for its items, else -1. */
  private startMs = -1;
  private wallMs = 0;

  constructor(
    coordinator: BatchReadHost,
    keys: readonly WireKey[],
    keyBytesMax: number,
    route: (key: WireKey) => number,
    windowMax: number,
    timeoutMs: number,
    done: (error: RingtableError | undefined, results: (GetResult | undefined)[]) => void,
  ) {
    this.coordinator = coordinator;
    this.keys = keys;
    this.keyBytesMax = keyBytesMax;
    this.route = route;
    this.windowMax = Math.min(windowMax, keys.length);
    this.finishedItems = new Uint8Array(keys.length);
    this.deadlines = new ItemDeadlines(keys.length, timeoutMs, this.finishedItems);
    // Dense: a missing key is an explicit undefined, which filter, map and forEach visit. Filled by
    // this loop, here: filled by `.fill(undefined)`, or by this loop in a function of its own, nearly
    // every result the array then held survived V8's scavenges (a sampling heap profile of
    // bench:get-many's reads, keeping only what no minor GC collected: 193 of 205 bytes per read,
    // against 10-23 with this; --trace-gc-nvp: 60-80% of the young generation survived each scavenge
    // and was promoted, scavenges took 8-15 ms against raw lmdb-js's 1-7, and the results died in the
    // old generation). As if the array were allocated old, its slots keeping the results alive through
    // scavenges until a mark-compact; why only those forms do that was not found, nor a small
    // store where they do (with 20,000 keys both forms kept 30-45% of the bytes), so no test holds it.
    const results = new Array<GetResult | undefined>(keys.length);
    for (let i = 0; i < keys.length; i++) results[i] = undefined;
    this.results = results;
    this.done = (error) => done(error, this.results);
  }

  get inFlight(): number {
    return this.ended ? 0 : this.next - this.finished;
  }

  start(): void {
    this.fill();
  }

  /**
   * Once the caller's call returns: check and copy the keys not read yet
   * (the caller may reuse its buffers). Those read, in place or by message,
   * are done with (a message carries its key's bytes).
   */
  ownKeys(): void {
    if (this.ended || this.next === this.keys.length) return;
    for (let i = Math.max(this.next, this.checkedEnd); i < this.keys.length; i++) if (!this.checkKeyAt(this.keys, i)) return;
    this.owned = new OwnedKeys(this.keys, this.next);
    this.checkedEnd = this.keys.length;
  }

  private keyAt(index: number): WireKey {
    const owned = this.owned;
    return owned === undefined ? this.keys[index]! : owned.keyAt(index);
  }

  /** Keep windowMax in flight. Items may be answered inside sendNext (reads in place): a loop, not recursion, sends the next. */
  private fill(): void {
    if (this.filling || this.waitingForTurn) return;
    this.filling = true;
    while (!this.ended && this.next < this.keys.length && this.next - this.finished < this.windowMax) {
      if (this.next === this.checkedEnd && !this.checkChunk()) break;
      // The clocks once per CLOCK_READS_EVERY items: reads in place answer within this loop, a few microseconds each.
      if ((this.next & (CLOCK_READS_EVERY - 1)) === 0 || this.startMs < 0) this.readClocks();
      this.sendNext();
    }
    this.startMs = -1;
    this.filling = false;
  }

  /**
   * The next KEYS_PER_CHECK keys checked, if this macrotask may still read
   * them in place; false when the batch ended (a key is not valid) or waits
   * for the next macrotask.
   */
  private checkChunk(): boolean {
    const end = Math.min(this.keys.length, this.checkedEnd + KEYS_PER_CHECK);
    for (let i = this.checkedEnd; i < end; i++) if (!this.checkKeyAt(this.keys, i)) return false;
    if (!this.coordinator.batchReadsLeft(end - this.checkedEnd)) {
      this.waitingForTurn = true;
      this.coordinator.nextTurn(this.nextTurn);
      return false;
    }
    this.checkedEnd = end;
    return true;
  }

  private readonly nextTurn = (): void => {
    this.waitingForTurn = false;
    this.fill();
  };

  private checkKeyAt(keys: readonly WireKey[], index: number): boolean {
    try {
      checkKey(keys[index], this.keyBytesMax);
      return true;
    } catch (error) {
      this.end(error instanceof RingtableError ? error : new RingtableError(ErrorCode.INVALID_KEY, String(error)));
      return false;
    }
  }

  private readClocks(): void {
    this.startMs = this.coordinator.monotonicMs();
    this.wallMs = this.coordinator.wallClockMs();
  }

  /** Each item has `timeoutMs` from its own start: the batch expires with its oldest unfinished item. */
  get deadlineMs(): number {
    return this.deadlines.oldest(this.next);
  }

  private sendNext(): void {
    const index = this.next++;
    this.deadlines.start(index, this.startMs);
    const key = this.keyAt(index);
    // One record for the batch: each send encodes it before returning.
    const get = this.get;
    get.key = key;
    this.coordinator.sendRead(this.route(key), get, this, index, true);
  }

  onReply(_nodeId: number, status: number, bytes: Uint8Array, view: DataView, at: number, length: number, tag: number): void {
    if (this.ended) return;
    if (status === Status.OK) {
      try {
        // Within fill (a read in place), the loop's clock; an answer by message reads it now.
        const direct = resultFromBytes(bytes, view, at, length, this.startMs >= 0 ? this.wallMs : this.coordinator.wallClockMs(), this.coordinator);
        this.results[tag] = direct !== null ? direct : this.coordinator.toResult(decodeObject(copyBytes(bytes, at, at + length)));
      } catch (thrown) {
        return this.end(resultError(thrown));
      }
    } else if (status !== Status.NOT_FOUND) {
      return this.end(quorumError('read', 'failed', 0, 1, 1, false));
    }
    this.finishedItems[tag] = 1;
    this.finished++;
    if (this.finished === this.keys.length) return this.end(undefined);
    this.fill();
  }

  onNodeFailure(): void {
    if (!this.ended) this.end(quorumError('read', 'failed', 0, 1, 1, false));
  }

  expire(): void {
    if (!this.ended) this.end(quorumError('read', 'pending', 0, 1, 1, true));
  }

  private end(error: RingtableError | undefined): void {
    this.ended = true;
    this.done(error);
  }
}

/**
 * The keys of a getMany not read when its call returns, copied (the caller
 * may change its array and buffers then): the binary keys' bytes one after
 * another in one buffer, a string key (immutable) kept as it is. A key is a
 * view made when it is read, which dies young. A copy of its own per key
 * (`ownKey`, and a copy of the array) lived until its read, a later
 * macrotask, across scavenges: in bench:get-many (batches of 10,000,
 * BATCH_READS_IN_PLACE_PER_TURN_MAX 16,384) most batches wait for the next
 * turn with part of their keys, and those copies were 75 of a read's 294
 * bytes allocated (a sampling heap profile). Measured in one
 * process against the copy per key (a scratch A/B over bench:get-many's
 * data, 10 interleaved rounds, load 3-4): 1.09x the reads per second, as
 * much as not copying at all.
 */
class OwnedKeys {
  private readonly from: number;
  /** Key `from + j`'s bytes are bytes[starts[j], starts[j + 1]); an empty range is a string key (keys are never empty). */
  private readonly bytes: Uint8Array;
  private readonly starts: Int32Array;
  private readonly strings: (string | undefined)[] | undefined;

  /** `keys` from `from` on are checked (checkKey). */
  constructor(keys: readonly WireKey[], from: number) {
    const count = keys.length - from;
    let total = 0;
    let strings = false;
    for (let i = from; i < keys.length; i++) {
      const key = keys[i]!;
      if (typeof key === 'string') strings = true;
      else total += key.byteLength;
    }
    this.from = from;
    this.bytes = new Uint8Array(total);
    this.starts = new Int32Array(count + 1);
    this.strings = strings ? new Array<string | undefined>(count).fill(undefined) : undefined;
    let at = 0;
    for (let j = 0; j < count; j++) {
      const key = keys[from + j]!;
      this.starts[j] = at;
      if (typeof key === 'string') {
        this.strings![j] = key;
      } else {
        copyInto(this.bytes, key, 0, key.byteLength, at);
        at += key.byteLength;
      }
    }
    this.starts[count] = at;
  }

  keyAt(index: number): WireKey {
    const j = index - this.from;
    const start = this.starts[j]!;
    const end = this.starts[j + 1]!;
    return start === end ? this.strings![j]! : this.bytes.subarray(start, end);
  }
}

/** What a putMany batch needs of its coordinator beyond any operation's. */
export interface PutBatchHost extends OperationHost {
  /**
   * A request message encoded already (put-many-items.ts messages) packed
   * into `nodeId`'s write envelope, its request id and hint owner set there;
   * false, and nothing sent, when it cannot be packed (the node is down,
   * envelopes are off, it is too large): the caller sends its record instead.
   */
  sendBatchedMessage(nodeId: number, message: Uint8Array, reply: PendingReply, tag: number): boolean;
}

/**
 * putMany: every item is a put coordinated by its first replica and then
 * replicated, exactly as PutOperation, with the items' quorums in one
 * WriteQuorumTable. At most `windowMax` items are unsettled at a time; an
 * item settles when every replica has answered, and the next one starts.
 * The batch resolves once every item met its W. Its items are columns
 * (put-many-items.ts): keys and values the batch's own, hashed already.
 */
export class PutBatch implements PendingReply, Operation {
  readonly windowMax: number;
  /** Every item is encoded before the batch starts, and held until it is sent to every replica. */
  readonly bytes: number;
  callerDone = false;
  private readonly deadlines: ItemDeadlines;
  private readonly coordinator: PutBatchHost;
  /**
   * An item's value is let go once nothing will send it again (its object
   * went to every replica): a batch of 10,000 held 3 MB of records and keys
   * until it ended, which every scavenge in between copied.
   */
  private readonly items: PutManyItems;
  private readonly lists: Int32Array[];
  private readonly route: (hash32: number) => Int32Array;
  private readonly quorums: WriteQuorumTable;
  /** 1 once an item's coordinator answered: replicas were then sent its object. */
  private readonly coordinated: Uint8Array;
  /** 1 once an item was sent to a second coordinator (its first failed before answering). */
  private readonly retried: Uint8Array;
  /**
   * 1 while an item's PUT went with RequestFlag.MINT_ONLY: its coordinator
   * answers the minted object before storing it, so its acknowledgement is
   * that of the REPLICATE it is then sent with the other replicas.
   */
  private readonly mintedOnly: Uint8Array;
  private readonly succeeded: Uint8Array;
  /** One record per op for the batch: each send encodes it before returning. */
  private readonly put: RequestRecord = requestOf(Op.PUT, '', undefined);
  private readonly replicate: RequestRecord = requestOf(Op.REPLICATE, '', undefined);
  private readonly done: (error: RingtableError | undefined) => void;
  /**
   * The coordinator's own version of an item's write (writer-version.ts,
   * 'lww' stores), or undefined for a node to mint it: a minted item goes
   * to all its replicas at once, with no coordinating node in between.
   * Its bytes may be a reused buffer, valid until the next call: they are
   * copied into the replicas' requests before `mint` is called again.
   */
  private readonly mint: PutMint | undefined;
  private reason: string | undefined;
  private next = 0;
  private succeededCount = 0;
  private settledCount = 0;
  private ended = false;

  constructor(
    coordinator: PutBatchHost,
    items: PutManyItems,
    n: number,
    route: (hash32: number) => Int32Array,
    windowMax: number,
    timeoutMs: number,
    done: (error: RingtableError | undefined) => void,
    mint?: PutMint,
  ) {
    this.coordinator = coordinator;
    this.mint = mint;
    this.items = items;
    this.route = route;
    this.lists = new Array(items.count);
    this.quorums = new WriteQuorumTable(items.count, n);
    this.coordinated = new Uint8Array(items.count);
    this.retried = new Uint8Array(items.count);
    this.mintedOnly = new Uint8Array(items.count);
    this.succeeded = new Uint8Array(items.count);
    this.windowMax = Math.min(windowMax, items.count);
    this.deadlines = new ItemDeadlines(items.count, timeoutMs, this.succeeded);
    this.done = done;
    this.bytes = items.bytes;
  }

  /** Each item has `timeoutMs` from its own start to meet its W. */
  get deadlineMs(): number {
    return this.deadlines.oldest(this.next);
  }

  get weight(): number {
    return this.windowMax;
  }

  /** Items started and not yet settled. */
  get inFlight(): number {
    return this.next - this.settledCount;
  }

  get isSettled(): boolean {
    return this.settledCount === this.next && (this.ended || this.next === this.items.count);
  }

  start(): void {
    // One clock read for the window: its items start within this one synchronous loop.
    const nowMs = this.coordinator.monotonicMs();
    while (this.next < this.windowMax) this.startNext(nowMs);
  }

  private startNext(nowMs = this.coordinator.monotonicMs()): void {
    const item = this.next++;
    this.deadlines.start(item, nowMs);
    const items = this.items;
    const list = this.route(items.hashes[item]!);
    this.lists[item] = list;
    this.quorums.setRequired(item, items.ws[item]!);
    const message = items.messages?.[item];
    if (message !== undefined) {
      // Minted with the batch (put-many-items.ts): its message to every replica as it is.
      this.coordinated[item] = 1;
      this.sendMessage(item, message, list);
      items.letGo(item);
      return;
    }
    const object = this.mint?.(items.contextAt(item), items.values[item]!, items.timestampsMs[item]!, items.expiresAtMs[item]!, false, items.counterAt(item));
    if (object === undefined) return this.sendPut(list[0]!, item);
    // Already minted: every replica merges it (REPLICATE), the first included, each in its next commit.
    this.coordinated[item] = 1;
    this.sendReplicas(item, object, 0);
    items.letGo(item);
  }

  /** A minted item's REPLICATE message to each replica of `list`, copied into its envelope, else sent from its record. */
  private sendMessage(item: number, message: Uint8Array, list: Int32Array): void {
    for (let i = 0; i < list.length; i++) {
      const target = list[i]!;
      if (this.coordinator.sendBatchedMessage(target, message, this, item)) continue;
      const replicate = this.replicate;
      replicate.key = this.items.keyOf(item);
      replicate.value = this.items.objectAt(item);
      replicate.timestampMs = this.items.timestampsMs[item]!;
      this.coordinator.sendBatched(target, replicate, this, item);
    }
  }

  /**
   * The item's PUT to `target`, its coordinator, which mints its version;
   * to a node's own data (no stand-in) as MINT_ONLY, so that the object
   * reaches every replica, the coordinator included, in their one commit
   * of the batch (wire.ts RequestFlag.MINT_ONLY).
   */
  private sendPut(target: number, item: number): void {
    const items = this.items;
    const put = this.put;
    const mintOnly = !isHinted(target);
    this.mintedOnly[item] = mintOnly ? 1 : 0;
    put.key = items.keyOf(item);
    put.flags = items.flags[item]! | (mintOnly ? RequestFlag.MINT_ONLY : 0);
    put.context = items.contextAt(item);
    put.value = items.valueAt(item)!;
    put.timestampMs = items.timestampsMs[item]!;
    put.expiresAtMs = items.expiresAtMs[item]!;
    this.coordinator.sendBatched(target, put, this, item);
  }

  /** The item's object to its replicas from `first` on. */
  private sendReplicas(item: number, object: Uint8Array, first: number): void {
    const list = this.lists[item]!;
    const replicate = this.replicate;
    replicate.key = this.items.keyOf(item);
    replicate.value = object;
    replicate.timestampMs = this.items.timestampsMs[item]!;
    for (let i = first; i < list.length; i++) this.coordinator.sendBatched(list[i]!, replicate, this, item);
  }

  onReply(nodeId: number, status: number, bytes: Uint8Array, _view: DataView, at: number, length: number, item: number): void {
    const list = this.lists[item]!;
    const position = positionOf(list, nodeId);
    if (status === Status.ERROR) this.reason ??= nodeReason(bytes, at, length);
    if (position === 0 && this.coordinated[item] === 0) {
      if (status !== Status.OK) return this.coordinatorFailed(item);
      this.coordinated[item] = 1;
      // Stored (a PUT) or only minted (MINT_ONLY, then sent to it as to every replica).
      const first = this.mintedOnly[item] === 1 ? 0 : 1;
      if (first === 1) this.quorums.ack(item, 0);
      // Forward the coordinator's object straight from the response ring into
      // the replicas' request rings: no intermediate copy.
      this.sendReplicas(item, bytes.subarray(at, at + length), first);
      this.items.letGo(item);
    } else if (status === Status.OK) {
      this.quorums.ack(item, position);
    } else {
      this.quorums.fail(item, position);
    }
    this.progress(item);
  }

  onNodeFailure(nodeId: number, _error: Error, item: number): void {
    const position = positionOf(this.lists[item]!, nodeId);
    if (position === 0 && this.coordinated[item] === 0) {
      // The coordinator failed before minting the version. As for a single
      // put, another node of the list coordinates instead (Dynamo §4.5), once.
      if (this.retried[item] === 0 && !this.ended && this.retryElsewhere(item, nodeId)) return;
      return this.coordinatorFailed(item);
    }
    this.quorums.fail(item, position);
    this.progress(item);
  }

  /** Route the item again (the failed node is down by now, so the list changes): false if it would go to the same coordinator. */
  private retryElsewhere(item: number, failed: number): boolean {
    const list = this.route(this.items.hashes[item]!);
    if (list.length === 0 || list[0] === failed) return false;
    this.retried[item] = 1;
    this.lists[item] = list;
    this.quorums.reset(item);
    this.sendPut(list[0]!, item);
    return true;
  }

  private coordinatorFailed(item: number): void {
    for (let position = 0; position < this.quorums.replicasPerItem; position++) {
      if (!this.quorums.hasAnswered(item, position)) this.quorums.fail(item, position);
    }
    this.progress(item);
  }

  private progress(item: number): void {
    const status = this.quorums.status(item);
    if (status === 'succeeded' && this.succeeded[item] === 0) {
      this.succeeded[item] = 1;
      this.succeededCount++;
      if (this.succeededCount === this.items.count) this.end(undefined);
    } else if (status === 'failed') {
      this.end(this.itemError(item, false));
    }
    if (!this.quorums.settled(item)) return;
    this.settledCount++;
    if (!this.ended && this.next < this.items.count) this.startNext();
    if (this.isSettled) this.coordinator.batchSettled(this);
  }

  private itemError(item: number, timedOut: boolean): RingtableError {
    const n = this.quorums.replicasPerItem;
    return quorumError('write', this.quorums.status(item), this.quorums.answered(item), this.items.ws[item]!, n, timedOut, this.reason);
  }

  expire(): void {
    if (this.ended) return;
    this.end(this.itemError(this.deadlines.oldestItem(this.next), true));
  }

  private end(error: RingtableError | undefined): void {
    if (this.ended) return;
    this.ended = true;
    this.done(error);
  }
}

/**
 * A putMany item's object minted by the coordinator (writer-version.ts
 * mintTransient; `reserved`: the counter its batch reserved for it, or 0),
 * or undefined for its coordinating node to mint.
 */
export type PutMint = (context: CausalContext | undefined, value: Uint8Array, timestampMs: number, expiresAtMs: number, tombstone: boolean, reserved: number) => Uint8Array | undefined;

/**
 * Per-item deadlines of a batch whose items start in order: the batch's
 * deadline is that of its oldest unfinished item, found by a cursor that only
 * moves forward (amortised O(1)).
 */
class ItemDeadlines {
  private readonly startedMs: Float64Array;
  private cursor = 0;

  constructor(
    items: number,
    private readonly timeoutMs: number,
    /** 1 where an item no longer needs its deadline. */
    private readonly finished: Uint8Array,
  ) {
    this.startedMs = new Float64Array(items);
  }

  start(item: number, nowMs: number): void {
    this.startedMs[item] = nowMs;
  }

  oldestItem(started: number): number {
    while (this.cursor < started - 1 && this.finished[this.cursor] === 1) this.cursor++;
    return this.cursor;
  }

  oldest(started: number): number {
    if (started === 0) return Infinity;
    return this.startedMs[this.oldestItem(started)]! + this.timeoutMs;
  }
}
