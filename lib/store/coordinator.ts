/**
 * The coordinator (Dynamo §4.5): everything between "a request is admitted"
 * and "its quorum settled". It hashes keys onto the ring, routes each request
 * to the key's preference list (sloppy quorum, stand-ins for down nodes),
 * bounds the work in flight, runs the quorum operations (operations.ts) with
 * their deadlines and retry rules, and does what their settling decides: read
 * repair, tombstone purges, copies to the nodes gaining a range that moves.
 *
 * Its world is one injected CoordinatorHost (clock, timers, end of turn,
 * links): the Store gives it the Node one (node-host.ts), the simulation a
 * virtual one, so the simulation runs this code, not a copy of it.
 */
import assert from 'node:assert/strict';
import { ErrorCode, RingtableError } from '../errors.js';
import type { ReadBalance, ReadPath, ResolvedHotKeyCache, ResolvedOptions } from '../config/options.js';
import { readsInPlace } from './read-path.js';
import { hashKey32 } from '../ring/hash.js';
import type { Ring } from '../ring/ring.js';
import { PreferenceListTable } from '../ring/preference-list.js';
import { nodeOfTarget, targetsFor } from '../ring/sloppy-quorum.js';
import type { PendingReply } from '../transport/node-link.js';
import { AlsoFlag, Op, type RequestRecord, type WireKey, decodeRangePayload, requestOf } from '../transport/wire.js';
import { EnvelopeBatcher } from '../transport/write-envelope.js';
import { type VersionedObject, lastWriterWins } from '../version/dotted-version-vector.js';
import { HybridLogicalClock } from '../version/hybrid-logical-clock.js';
import { WriterVersions } from '../version/writer-version.js';
import { decodeObject } from '../version/object-codec.js';
import { orderedEntryOf } from '../version/ordered-version.js';
import type { CoordinatorHost } from './coordinator-host.js';
import { HintedHandoff } from './hinted-handoff.js';
import { OwnershipHandoff } from './ownership-handoff.js';
import { type BatchReadHost, type GetCallback, GetOperation, type Operation, PutBatch, type PutBatchHost, type PutCallback, type PutMint, PutOperation, type PutRequest, SingleReadBatch, BackgroundReply, requestBytesOf } from './operations.js';
import type { PutManyItems } from './put-many-items.js';
import { SlabChunks } from './value-slab.js';
import { type GetResult, resultError, toGetResult } from './get-result.js';
import { checkKey, ownKey } from './value-codec.js';
import { TombstonePurges } from './tombstone-purges.js';
import { nodesToSweepBeforePurge, shouldSendPurge } from './purge-rule.js';
import type { StoreStats } from './store-types.js';
import { coordinatorFirst, firstLiveTarget, leastLoadedReplicas, readReplicas, readTargets, singleReadTarget, someDown } from './routing.js';
import { CacheUse, InPlaceAnswer, InPlaceState, LATER_GETS_MAX, LaterGets, type RejectGet, type ResolveGet, getCallbackOf } from './in-place-get.js';
import { AgreeingInPlaceAnswer, type ReadInPlace, firstReadableTargets } from './agreeing-in-place-get.js';
import { ReplicaLoad } from './replica-load.js';
import { HotKeyCache, cacheKeyOf } from './hot-key-cache.js';
import { WritesInFlight } from './writes-in-flight.js';
import { type LeaderWaiter, type Leadership, PartitionLeaders } from './partition-leaders.js';
import { type ElectionResult, electLeaders } from './leader-election.js';
import { KeyCommit, type KeyCommitCallback } from './key-commit.js';
import { type CommitGate, type CommitWaiter, UncommittedKeys, keyBytesOf, keyIdOf, termVersionMax } from './uncommitted-keys.js';
import { type OrderedHost, OrderedReadOperation, type OrderedReadCallback, type OrderedWriteCallback, OrderedWriteOperation, type OrderedWriteRequest } from './ordered-operation.js';
import { LaterOrderedGets, OrderedInPlaceAnswer, type OrderedReadAnswer, orderedInPlaceTarget } from './ordered-in-place-get.js';
import { isWellFormedPartitionedKey, splitPartitionedKey, PARTITIONED_KEY_MARKER } from '../ring/partitioned-key.js';

export type CoordinatorOptions = Pick<ResolvedOptions, 'n' | 'sloppy' | 'readFanout' | 'timeoutMs' | 'pendingMax' | 'pendingBytesMax' | 'tombstoneGraceMs' | 'resolve' | 'handoffKeysPerSecond'> & {
  /** Read up replicas in place when the host can (read-path.ts). Default 'messages'. */
  readPath?: ReadPath;
  /** Which R of N replicas a get asks (routing.ts). Default 'least-loaded'. */
  readBalance?: ReadBalance;
  /** The opt-in hot-key cache (hot-key-cache.ts). Default none. */
  hotKeyCache?: ResolvedHotKeyCache;
  /** Pack writes bound for one node into write envelopes (the store always does; the simulation tries both). Default true. */
  writeEnvelopes?: boolean;
  /**
   * Hand data held outside a node's ranges to its keys' current replicas, and
   * hints to the current replicas when their owner no longer replicates the
   * key (issue 9). Default true; false only plants the bug back for the
   * simulation (test/simulation/bugs.ts 'strand-foreign').
   */
  ownershipHandoff?: boolean;
  /** 'lww': putMany mints its versions here (writer-version.ts) when `writerEpoch` is given. Default 'siblings'. */
  conflicts?: 'siblings' | 'lww';
  /** This coordinator's writer epoch, drawn at random by its shell (writerEpochOf). */
  writerEpoch?: number;
};

export interface CoordinatorCounters {
  readRepairs: number;
  readRepairsSkipped: number;
  readRepairsCovered: number;
  siblingsSeen: number;
  timeouts: number;
  overloaded: number;
  /** Puts sent to a second coordinator after the first failed before answering. */
  putRetries: number;
}

const BATCH_WINDOW_MAX = 16_384;
/** A write envelope's own key: none (its items carry theirs). */
const NO_KEY = new Uint8Array(0);
const DEADLINE_TICK_MS_MAX = 100;
/** Background work allowed however small pendingMax is: a client that awaits each call is never refused for it. */
const BACKGROUND_PENDING_MIN = 65_536;
/**
 * Puts and gets sent at once whose callers still wait (the send window),
 * between these bounds; admitted ones beyond it wait their turn unsent,
 * without a deadline (pendingMax bounds them). So a request's deadline covers
 * its own trip behind at most a window of others, not behind everything
 * admitted: with all of pendingMax sent at once, a burst of 262,144 admitted
 * puts ran past timeoutMs behind each other (issue 9 finding 8). The window
 * follows the answers' latency (adjustSendWindow): it grows while answers come
 * within an eighth of timeoutMs and halves when one takes over a quarter, so
 * a slower machine keeps fewer requests out and none times out in the queue.
 */
export const SEND_WINDOW_MIN = 64;
export const SEND_WINDOW_MAX = 16_384;
const SEND_WINDOW_START = 1_024;
/** A purge held back by a pending ownership sweep is tried again this much later (late, never early). */
const PURGE_RETRY_MS = 100;
/**
 * Keys in doubt one background pass commits (a consistent read of each,
 * which commits the leader's copy before it is served), and the pause
 * between passes (at least this, else timeoutMs). Without it, keys that no
 * one reads again stay in doubt, and at DOUBTFUL_KEYS_MAX writes of other keys
 * are refused. Passes that commit nothing (their replicas still out of reach)
 * back off, doubling the pause, and stop after DOUBT_DRAIN_IDLE_PASSES_MAX of
 * them in a row (about 31 pauses in all), so a store with a key it cannot
 * commit goes quiet; the next failed write or a node's start resumes them.
 */
const DOUBT_DRAIN_BATCH = 64;
const DOUBT_DRAIN_MS_MIN = 1000;
const DOUBT_DRAIN_IDLE_PASSES_MAX = 5;

/**
 * Spaces dropped over a store's life (each one a table id, never reused): the
 * set's bound. Every node is asked to drop each of them again when it starts
 * (an empty drop is one small request), which this keeps to seconds.
 */
export const DROPPED_SPACES_MAX = 65_536;

/** getInPlace's "ask startGet": the read was not answered in place now. */
export const NOT_IN_PLACE: unique symbol = Symbol('not in place');
/** getInPlace's "ask getLater": it would be read in place, but not in this macrotask. */
export const LATER: unique symbol = Symbol('later');
const SERVE_GATE: CommitGate = { action: 'serve' };

export class Coordinator implements BatchReadHost, PutBatchHost, OrderedHost {
  readonly options: CoordinatorOptions;
  private readonly host: CoordinatorHost;
  private ringValue: Ring;
  private preferenceLists: PreferenceListTable;
  /** While a membership change streams ranges: the ring it moves to, and which partitions change. */
  private transition: { table: PreferenceListTable; changed: Uint8Array } | undefined;
  /** Set while a membership change runs (membership-change.ts): purges wait, a stream may bring back an older version. */
  membershipChange: Promise<unknown> | undefined;
  /** The node the running membership change removes, from its start (before its hints drain) to its end: it takes no hints. */
  leavingNode: number | undefined = undefined;
  readonly handoff: HintedHandoff;
  /** Data a node holds outside its ranges, handed to the keys' current replicas (ownership-handoff.ts). */
  readonly ownership: OwnershipHandoff;
  /** False in an attached store (sweepsElsewhere): no tombstone purges there. */
  private sweepsHere = true;
  /** An attached store's way to its owner's purges (sweepsElsewhere). */
  private forwardPurge: ((key: WireKey, replicas: readonly number[], objectBytes: Uint8Array) => void) | undefined;
  private readonly ownershipEnabled: boolean;
  private readonly active = new Set<Operation>();
  /** Weight of the active operations whose callers still wait: what pendingMax bounds. */
  private pendingCount = 0;
  /**
   * Weight of operations whose callers have their answer but whose remaining
   * replicas have not (W < N), plus read repairs and purges in flight: bounded
   * by backgroundMax, beyond which new work is refused and repairs skipped.
   */
  private backgroundCount = 0;
  private readonly backgroundMax: number;
  /** Encoded bytes of the writes that have not settled (their callers may have their answers): what pendingBytesMax bounds. */
  private pendingBytesCount = 0;
  private readonly backgroundReply = new BackgroundReply(() => {
    this.backgroundCount--;
    assert.ok(this.backgroundCount >= 0, 'background work went negative');
  });
  readonly purges: TombstonePurges;
  private state: 'open' | 'closing' = 'open';
  private readRotation = 0;
  private deadlineTimer: unknown;
  private deadlineArmed = false;
  private doubtDrainTimer: unknown;
  private doubtDrainArmed = false;
  /** The background pass's reads in flight: a pass starts only once the last one's ended. */
  private doubtDrainReads = 0;
  /** Passes in a row that found as many keys in doubt as the one before (each doubles the pause). */
  private doubtDrainIdlePasses = 0;
  private doubtDrainLastCount = 0;
  /**
   * Write envelopes being filled (sendBatched), sent when full or at the end
   * of the turn; through send, so that a node marked down since its items
   * were packed fails them all at once.
   */
  readonly envelopes: EnvelopeBatcher;
  private readonly writeEnvelopes: boolean;
  private readonly clock = new HybridLogicalClock();
  /** Versions minted here, for putMany in 'lww' stores (writer-version.ts); undefined: nodes mint every version. */
  private readonly writer: WriterVersions | undefined;
  /** Puts and gets sent (first attempts and their retries) whose callers wait: at most sendWindow. */
  private sentCount = 0;
  private sendWindow = SEND_WINDOW_START;
  /** The window halves at most once per this long (the latency that halved it), as TCP's congestion window does once per round trip. */
  private sendWindowHeldUntilMs = 0;
  /** Puts and gets admitted but not sent yet, oldest first (they are routed when sent); bounded by pendingMax. */
  private readonly unsent: (() => void)[] = [];
  /** The encoded bytes of each unsent write (0 for a get), counted against pendingBytesMax while it waits. */
  private readonly unsentBytes: number[] = [];
  private unsentHead = 0;
  private readonly readPath: ReadPath;
  private readonly readBalance: ReadBalance;
  /** Requests handed to each node thread lately: what least-loaded reads even out. */
  private readonly replicaLoad = new ReplicaLoad();
  private readonly loadOfBound = (node: number): number => this.replicaLoad.of(node);
  /** The hottest keys' merged objects (undefined: read as not found), when the store opted in. */
  private readonly hotKeys: HotKeyCache<VersionedObject | undefined> | undefined;
  private sendingUnsent = false;
  /** Operations started this turn whose deadlines start once the turn's requests are sent (stampWhenSent); bounded by pendingMax. */
  private readonly unstamped: (GetOperation | PutOperation)[] = [];
  /** Puts and deletes in flight, counted by a slot of their key's hash: a read repair does not send a replica what one of them brings. */
  private readonly writesInFlight = new WritesInFlight();
  readonly counters: CoordinatorCounters = { readRepairs: 0, readRepairsSkipped: 0, readRepairsCovered: 0, siblingsSeen: 0, timeouts: 0, overloaded: 0, putRetries: 0 };
  /** Each ring partition's leader and term for leader-ordered keys (DESIGN.md §3). */
  readonly leaders = new PartitionLeaders();
  /** Spaces dropped (dropSpace): anti-entropy, handoff, range moves and catch-up skip their keys. */
  readonly droppedSpaces = new Set<number>();
  /** The store's W: a new leader catches up from N - W + 1 replicas, itself included. */
  orderedW = 2;
  /** Catch-ups under way (the simulation yields event-loop turns while there are any: they are promise-based). */
  electionsInFlight = 0;
  /** Ordered keys whose latest write is not known to be on W replicas: not served from the leader until it is. */
  readonly uncommitted = new UncommittedKeys();

  constructor(options: CoordinatorOptions, ring: Ring, host: CoordinatorHost) {
    this.options = options;
    this.readPath = options.readPath ?? 'messages';
    this.readBalance = options.readBalance ?? 'least-loaded';
    this.hotKeys = options.hotKeyCache === undefined ? undefined : new HotKeyCache(options.hotKeyCache);
    this.host = host;
    this.ringValue = ring;
    this.preferenceLists = new PreferenceListTable(ring, options.n);
    this.backgroundMax = Math.max(options.pendingMax, BACKGROUND_PENDING_MIN);
    this.writeEnvelopes = options.writeEnvelopes ?? true;
    this.writer = options.conflicts === 'lww' && options.writerEpoch !== undefined ? new WriterVersions(options.writerEpoch) : undefined;
    this.envelopes = new EnvelopeBatcher(
      (nodeId, flags, body, envelope) => this.send(nodeId, { op: Op.WRITE_BATCH, flags, key: NO_KEY, context: undefined, value: body, timestampMs: 0, expiresAtMs: 0 }, envelope, 0),
      (flush) => host.scheduleFlush(flush),
    );
    this.purges = new TombstonePurges(options.tombstoneGraceMs, host, (key, replicas, objectBytes) => this.sendPurge(key, replicas, objectBytes), PURGE_RETRY_MS);
    this.handoff = new HintedHandoff(
      {
        send: host.send,
        isUp: (node) => host.isUp(node),
        hintsHeld: (holder, owner) => host.hintsHeld(holder, owner),
        nodeIds: () => this.ringValue.nodeIds(),
        retiredIds: () => host.retiredIds(),
        replicasOf: (key) => this.preferenceLists.forHash(hashKey32(key)),
        followReplicas: options.ownershipHandoff ?? true,
        isDropped: (key) => this.isDroppedKey(key),
      },
      options.handoffKeysPerSecond,
    );
    this.ownershipEnabled = options.ownershipHandoff ?? true;
    this.ownership = new OwnershipHandoff(
      {
        send: host.send,
        isUp: (node) => host.isUp(node),
        ring: () => this.ringValue,
        table: () => this.preferenceLists,
        paused: () => this.membershipChange !== undefined || this.transition !== undefined,
      },
      options.handoffKeysPerSecond,
    );
    for (const node of ring.nodeIds()) this.learnTermOf(node);
  }

  /**
   * New terms exceed every term `node` knows (it read them from its meta at
   * start): a reopened store's first elections are not refused as stale.
   * Before, the first round of each batch came back STALE_TERM from every
   * replica and ran again (640 of 1,024 partitions, in a scratch run of a
   * reopened Database).
   */
  private learnTermOf(node: number): void {
    const known = this.host.knownTermOf?.(node) ?? 0;
    if (known > 0) this.leaders.learnTerm(known);
  }

  /** The handoff pacer (the store's watch timer): hints, and data held outside a node's ranges. */
  tickHandoffs(nowMs: number): void {
    this.handoff.tick(nowMs);
    if (this.ownershipEnabled) this.ownership.tick(nowMs);
  }

  /**
   * A node (re)started on its data: it may have been down through a
   * membership change and hold keys of ranges it no longer replicates.
   * Every start, not only during a move (issue 9).
   */
  nodeStarted(node: number): void {
    this.leaders.leaderStarted(node);
    this.learnTermOf(node);
    if (this.uncommitted.doubtfulKeys > 0) this.resumeDoubtDrain();
    this.oweSweep(node);
    this.tickHandoffs(this.host.monotonicMs());
  }

  /** `node` may hold keys outside its ranges: sweep it once it is up (ownership-handoff.ts). */
  oweSweep(node: number): void {
    if (this.ownershipEnabled) this.ownership.owe(node);
  }

  /**
   * A membership change ended (failed or not): its copies may still land on
   * any node for a grace period, so tombstone purges wait for sweeps that
   * begin after it (purge-rule.ts nodesToSweepBeforePurge).
   */
  membershipChangeEnded(): void {
    this.ownership.changeEnded(this.host.monotonicMs());
  }

  /**
   * An attached store: its owner sweeps, this one never does, so it cannot
   * tell whether a stranded copy outlives a tombstone: each due purge goes to
   * the owner (`forward`), which schedules it as its own (purgeForAttached).
   */
  sweepsElsewhere(forward: (key: WireKey, replicas: readonly number[], objectBytes: Uint8Array) => void): void {
    this.sweepsHere = false;
    this.forwardPurge = forward;
  }

  /** An attached store's due purge, scheduled here like one of this store's own deletes (its grace again, then the rule). */
  purgeForAttached(key: WireKey, replicas: readonly number[], objectBytes: Uint8Array): void {
    if (this.state !== 'open' || !this.sweepsHere) return;
    const ring = this.ringValue.nodeIds();
    // From this process's own attached stores; checked anyway, as any input at a boundary.
    if (!(typeof key === 'string' || key instanceof Uint8Array) || !(objectBytes instanceof Uint8Array) || replicas.length === 0 || !replicas.every((node) => Number.isInteger(node) && ring.includes(node))) return;
    this.purges.schedule(key, Array.from(replicas), objectBytes, this.host.monotonicMs());
  }

  /** Every node of the ring is swept (with each anti-entropy pass). */
  oweSweepAll(): void {
    if (this.ownershipEnabled) this.ownership.oweAll();
  }

  get ring(): Ring {
    return this.ringValue;
  }

  /** The key's own replicas in the current ring, primary first (Dynamo §4.3). */
  preferenceListOf(key: WireKey): Int32Array {
    return this.preferenceLists.forHash(hashKey32(key));
  }

  get pending(): number {
    return this.pendingCount;
  }

  get background(): number {
    return this.backgroundCount;
  }

  /** Operations in flight (their callers waiting or not), and those admitted but not sent yet. */
  get activeCount(): number {
    return this.active.size + this.unsentCount + this.laterGets.size + this.laterOrderedGets.size;
  }

  private get unsentCount(): number {
    return this.unsent.length - this.unsentHead;
  }

  /** What stats() reports of the coordinator. */
  stats(): Omit<StoreStats, 'nodes' | 'membership' | 'antiEntropy' | 'nodesMarkedDown' | 'readsInPlace'> {
    const counters = this.counters;
    return {
      readRepairs: counters.readRepairs,
      readRepairsSkipped: counters.readRepairsSkipped,
      readRepairsCovered: counters.readRepairsCovered,
      siblingsSeen: counters.siblingsSeen,
      timeouts: counters.timeouts,
      overloaded: counters.overloaded,
      writeEnvelopes: this.envelopes.envelopesSent,
      writeEnvelopeItems: this.envelopes.itemsSent,
      hintsDelivered: this.handoff.delivered,
      handoffErrors: this.handoff.errors,
      hintsRefused: this.handoff.refused,
      tombstonesPurged: this.purges.purged,
      ownershipSweepsPending: this.ownership.nodesPending,
      ownershipSweepsDone: this.ownership.sweepsDone,
      ownershipKeysHandedOver: this.ownership.keysHandedOver,
      pending: this.pendingCount,
      pendingBytes: this.pendingBytesCount,
      background: this.backgroundCount,
      orderedKeysInDoubt: this.uncommitted.doubtfulKeys,
      leaderTerms: this.leaders.elections,
      leaderElectionRounds: this.leaders.electionRounds,
      ...(this.hotKeys === undefined ? {} : { hotKeyCache: { ...this.hotKeys.counters, entries: this.hotKeys.size } }),
    };
  }

  // ---- admission and the caller's entry points ------------------------------

  /**
   * Bounded memory: refuse work beyond pendingMax, or writes beyond
   * pendingBytesMax, instead of queueing without limit. Counting requests
   * alone let 10k puts of 100 KB reach 5.4 GiB. A write is accepted when no
   * other write's bytes are pending, so a batch larger than the budget can
   * still run alone.
   */
  admit(count: number, bytes = 0): void {
    if (this.pendingCount + count > this.options.pendingMax || this.backgroundCount >= this.backgroundMax) {
      this.counters.overloaded++;
      throw new RingtableError(ErrorCode.OVERLOADED, `${this.pendingCount} operations pending; pendingMax is ${this.options.pendingMax}`);
    }
    if (bytes > 0 && this.pendingBytesCount > 0 && this.pendingBytesCount + bytes > this.options.pendingBytesMax) {
      this.counters.overloaded++;
      throw new RingtableError(ErrorCode.OVERLOADED, `${this.pendingBytesCount} bytes of writes pending; pendingBytesMax is ${this.options.pendingBytesMax}`);
    }
  }

  /**
   * A new version's timestamp: last-writer-wins orders by it, so each is
   * later than every timestamp handed out or read before (hybrid-logical-clock.ts).
   */
  nowMs(): number {
    return this.clock.next(this.host.wallClockMs());
  }

  /**
   * A put or delete, admitted: sent now when fewer than the send window's puts and gets
   * are out, else once earlier ones answered (routed then, by the ring and
   * the nodes up at that time). Its deadline starts when it is sent.
   */
  startPut(request: PutRequest, w: number, callback: PutCallback, tag: number): void {
    if (this.sentCount >= this.sendWindow || this.unsentCount > 0) return this.holdUnsent(() => this.sendPut(request, w, callback, tag), requestBytesOf(request));
    this.sendPut(request, w, callback, tag);
  }

  /**
   * A get, admitted: sent now or in its turn, as startPut. `cacheable`: it
   * may be answered by the hot-key cache (a plain Store.get; not a
   * consistent read, not a batch's), before this returns.
   */
  startGet(key: WireKey, r: number, callback: GetCallback, tag: number, cacheable = false): void {
    let fill: CacheFill | undefined;
    const missedKey = this.cacheMissKey;
    const missedFill = this.cacheMissFill;
    this.cacheMissKey = this.cacheMissFill = undefined;
    if (cacheable && this.hotKeys !== undefined) {
      const cacheKey = cacheKeyOf(key);
      if (missedKey === cacheKey) {
        // getInPlace looked this get up just now and counted its miss: not looked up (and counted) twice.
        fill = missedFill;
      } else {
        const entry = this.hotKeys.lookup(cacheKey, r, this.host.monotonicMs());
        if (entry !== undefined) return this.answerCached(entry.value, callback, tag);
        fill = { key: cacheKey, epoch: this.hotKeys.readStarted() };
      }
    }
    if (this.sentCount >= this.sendWindow || this.unsentCount > 0) return this.holdUnsent(() => this.sendGet(key, r, callback, tag, undefined, false, fill), 0);
    this.sendGet(key, r, callback, tag, undefined, false, fill);
  }

  /**
   * An admitted R = 1 get answered now from one replica read in place
   * (in-place-get.ts), or NOT_IN_PLACE: then startGet it. Only where a
   * GetOperation would ask exactly one replica and have nothing to do once it
   * answered: R = 1 under fanout 'quorum' with N > 1 (N = 1 may purge a
   * tombstone), nothing held for the send window.
   * The replica: the key's first live one (routing.ts firstLiveTarget).
   * R >= 2 (up to N): getAgreeingInPlace. `keyHash`: hashKey32(key) when known (a waiting get kept it).
   * With a hot-key cache, `cacheUse` (in-place-get.ts CacheUse) says what the
   * get does with it first: LOOK_UP (cachedInPlace), FILL (a hot key's miss
   * counted before it waited a turn: the full path, no second look-up), NONE.
   */
  getInPlace(key: WireKey, cacheUse: CacheUse, r = 1, keyHash?: number): GetResult | undefined | typeof NOT_IN_PLACE | typeof LATER {
    this.cacheMissKey = this.cacheMissFill = undefined;
    // A hot key's miss counted before it waited a turn: its fill starts now, whichever path it takes (no second look-up).
    if (cacheUse === CacheUse.FILL && this.hotKeys !== undefined) this.missedHot(key);
    if (this.readPath !== 'direct' || this.options.readFanout !== 'quorum' || this.options.n < 2 || this.host.readInPlace === undefined) return NOT_IN_PLACE;
    if (this.unsentCount > 0 || this.sentCount >= this.sendWindow || this.state !== 'open') return NOT_IN_PLACE;
    if (cacheUse === CacheUse.LOOK_UP && this.hotKeys !== undefined) {
      const cached = this.cachedInPlace(key, r);
      // A hit, or one whose value failed to decode (NOT_IN_PLACE: startGet answers its error).
      if (cached !== MISSED) return cached;
    }
    if (this.cacheMissFill !== undefined) {
      // A hot key's miss fills the entry. Past this macrotask's reads in place it waits for the next, as other gets
      // do: on the full path now, its replicas would be asked by message. At R >= 2 the agreeing read in place
      // fills it (getAgreeingInPlace); at R = 1, and wherever that declines, the full path does.
      if (this.host.inPlaceTurnLeft?.(r) === false && this.laterGets.size < LATER_GETS_MAX && this.host.nextTurn !== undefined) return LATER;
      if (r === 1) return NOT_IN_PLACE;
    }
    // Hashed only here, past the checks: a get that is not read in place hashes its key where it is sent.
    const hash = keyHash ?? hashKey32(key);
    this.inPlaceKey = key;
    this.inPlaceHash = hash;
    if (r > 1) return this.getAgreeingInPlace(key, r, hash);
    // The first up node of the key's own preference list: what readTargets and firstLiveTarget pick for R = 1
    // (readTargets only drops down nodes, or with none up gives stand-ins, which are hinted and not read in place),
    // without readTargets' count of up nodes (test/read-in-place.test.ts checks the two agree).
    const target = firstLiveTarget(this.preferenceLists.forHash(hash), this.isUpBound);
    if (target < 0 || !readsInPlace(this.readPath, target, this.isUpBound)) return NOT_IN_PLACE;
    if (this.host.inPlaceTurnLeft?.() === false) return this.laterGets.size < LATER_GETS_MAX && this.host.nextTurn !== undefined ? LATER : NOT_IN_PLACE;
    const answer = this.inPlaceAnswer;
    answer.reset();
    if (!this.host.readInPlace(target, key, answer, 0, false) || answer.state !== InPlaceState.ANSWERED) return NOT_IN_PLACE;
    const result = answer.result;
    answer.result = undefined;
    return result;
  }

  /**
   * The hot-key cache's part of a get that may be read in place: a hit is
   * answered now (decoded afresh, as answerCached does; NOT_IN_PLACE when
   * that fails). A miss is MISSED: counted, and left in `cacheMissKey` for
   * the path the get takes next (startGet, or getLater), so that no get is
   * counted twice. A miss of a key the cache would keep (HotKeyCache.isHot)
   * also carries the fill (missedHot), which getInPlace's agreeing read or
   * the full path makes; any other miss is read in place as if there were no
   * cache (HotKeyCache.fill would not keep its result anyway).
   */
  private cachedInPlace(key: WireKey, r: number): GetResult | undefined | typeof NOT_IN_PLACE | typeof MISSED {
    const hotKeys = this.hotKeys!;
    const cacheKey = cacheKeyOf(key);
    const entry = hotKeys.lookup(cacheKey, r, this.host.monotonicMs());
    if (entry === undefined) {
      if (hotKeys.isHot(cacheKey)) this.missedHot(key, cacheKey);
      else this.cacheMissKey = cacheKey;
      return MISSED;
    }
    try {
      return this.toResult(entry.value);
    } catch {
      // startGet looks the entry up again and rejects with what answerCached makes of the same error.
      return NOT_IN_PLACE;
    }
  }

  /** A hot key's miss, counted: its full path fills the entry with what it reads from now (the fill's epoch). */
  private missedHot(key: WireKey, cacheKey = cacheKeyOf(key)): void {
    this.cacheMissKey = cacheKey;
    this.cacheMissFill = { key: cacheKey, epoch: this.hotKeys!.readStarted() };
  }

  /**
   * getInPlace's last hot-key cache miss, for the get's next path only
   * (cleared by getInPlace, startGet and getLater): its cache key, and the
   * fill its full path makes when the cache would keep the key.
   */
  private cacheMissKey: string | undefined = undefined;
  private cacheMissFill: CacheFill | undefined = undefined;

  private readonly inPlaceAnswer = new InPlaceAnswer(this);
  /** The key getInPlace last looked at, and its hash: getLater keeps the hash (a waiting get is not hashed twice). */
  private inPlaceKey: WireKey | undefined = undefined;
  private inPlaceHash = 0;

  /**
   * getInPlace of R >= 2 (agreeing-in-place-get.ts): the R first live own
   * replicas read in place, answered when their records are byte-identical;
   * else NOT_IN_PLACE, and the GetOperation reads, merges and repairs as it always did.
   */
  private getAgreeingInPlace(key: WireKey, r: number, hash: number): GetResult | undefined | typeof NOT_IN_PLACE | typeof LATER {
    this.divergentKey = undefined;
    if (r > this.options.n) return NOT_IN_PLACE;
    if (this.agreeingTargets.length < r) this.agreeingTargets = new Int32Array(r);
    const targets = readTargets(this.preferenceLists, hash, r, this.options.sloppy, this.isUpBound);
    if (!firstReadableTargets(targets, r, this.readsInPlaceBound, this.agreeingTargets)) return NOT_IN_PLACE;
    if (this.host.inPlaceTurnLeft?.(r) === false) return this.laterGets.size < LATER_GETS_MAX && this.host.nextTurn !== undefined ? LATER : NOT_IN_PLACE;
    const answer = this.agreeingAnswer;
    const fill = this.cacheMissFill;
    answer.read(this.readInPlaceBound, this.agreeingTargets, r, key, NaN, r === this.options.n, fill !== undefined);
    if (answer.state === InPlaceState.DECLINED) {
      // The full path the caller starts next asks these same replicas, so that what differs is repaired
      // (any other R would do for the answer, but might agree and leave the divergence, read after read).
      this.divergentKey = key;
      this.divergentTargets = this.agreeingTargets.slice(0, r);
    }
    if (answer.state !== InPlaceState.ANSWERED) return NOT_IN_PLACE;
    // As toResult does: a write made with this read's context comes after what it read.
    if (!Number.isNaN(answer.observedTimestampMs)) this.clock.observe(answer.observedTimestampMs);
    // Replicas behind the newest record read: repaired with it, as readSettled repairs what GetOperation merged.
    if (answer.staleCount > 0) this.sendReadRepairs(key, answer.staleTargets, answer.staleCount, answer.repairBytes!);
    answer.repairBytes = undefined;
    if (fill !== undefined) {
      // The hot key's entry, as the full path's merge would fill it (the same replicas agreed, or were behind the newest).
      this.hotKeys!.fill(fill.key, answer.object, r, fill.epoch, this.host.monotonicMs());
      answer.object = undefined;
      this.cacheMissKey = this.cacheMissFill = undefined;
    }
    const result = answer.result;
    answer.result = undefined;
    return result;
  }

  private readonly agreeingAnswer = new AgreeingInPlaceAnswer(() => this.host.wallClockMs());
  /** The key getAgreeingInPlace just declined, and the replicas it read: sendGet's replicas for that key's next get. */
  private divergentKey: WireKey | undefined = undefined;
  private divergentTargets: Int32Array | undefined = undefined;
  private agreeingTargets = new Int32Array(2);
  private readonly readsInPlaceBound = (target: number): boolean => readsInPlace(this.readPath, target, this.isUpBound);
  private readonly readInPlaceBound: ReadInPlace = (target, key, reply, tag, batch) => this.host.readInPlace!(target, key, reply, tag, batch);

  /**
   * getInPlace said LATER: this macrotask's reads in place are used up
   * (direct-reads.ts). The get waits for the next macrotask, counted as
   * pending, and is read in place then, in order; one that cannot be by then
   * is started as any get. Cheaper than a GetOperation whose read is deferred.
   * `seenKey`: the key getInPlace was given, when `key` is a copy of it made since.
   */
  getLater(key: WireKey, cacheable: boolean, resolve: ResolveGet, reject: RejectGet, r = 1, seenKey: WireKey = key): void {
    // A miss getInPlace just counted: a hot key's is read later on the full path (FILL), any other in place, uncached.
    const cacheUse = this.cacheMissKey === undefined ? (cacheable ? CacheUse.LOOK_UP : CacheUse.NONE) : this.cacheMissFill !== undefined ? CacheUse.FILL : CacheUse.NONE;
    this.cacheMissKey = this.cacheMissFill = undefined;
    this.pendingCount++;
    if (this.laterGets.size === 0) this.host.nextTurn!(this.runLaterGets);
    this.laterGets.push(key, cacheUse, resolve, reject, r, seenKey === this.inPlaceKey ? this.inPlaceHash : hashKey32(key));
  }

  private readonly laterGets = new LaterGets();

  private readonly runLaterGets = (): void => {
    const later = this.laterGets;
    while (later.size > 0) {
      const key = later.key();
      const cacheUse = later.cacheUse();
      const r = later.r();
      const answer = this.getInPlace(key, cacheUse, r, later.hash());
      if (answer === LATER) break;
      const resolve = later.resolve();
      const reject = later.reject();
      later.shift();
      this.pendingCount--;
      if (answer === NOT_IN_PLACE) this.startGet(key, r, getCallbackOf(resolve, reject), 0, cacheUse !== CacheUse.NONE);
      else resolve(answer);
    }
    if (later.size > 0) this.host.nextTurn!(this.runLaterGets);
  };

  /** A hit: decoded afresh for each caller (a caller may change its value), expiry and resolver applied now. */
  private answerCached(object: VersionedObject | undefined, callback: GetCallback, tag: number): void {
    let result: GetResult | undefined;
    try {
      result = this.toResult(object);
    } catch (thrown) {
      return callback(resultError(thrown), undefined, tag);
    }
    callback(undefined, result, tag);
  }

  /** A write of `key` through this coordinator starts or ends: the hot-key cache forgets the key. */
  private written(key: WireKey): void {
    if (this.hotKeys !== undefined) this.hotKeys.written(cacheKeyOf(key));
  }

  /** Counted as pending while it waits (pendingMax, and a write's bytes pendingBytesMax). */
  private holdUnsent(send: () => void, bytes: number): void {
    this.pendingCount++;
    this.pendingBytesCount += bytes;
    this.unsentBytes.push(bytes);
    this.unsent.push(send);
  }

  /** A sent put or get has its answer: the window follows its latency, and the oldest unsent ones take its place. */
  private sentEnded(deadlineMs: number): void {
    this.sentCount--;
    assert.ok(this.sentCount >= 0, 'sent operations went negative');
    // Infinity: it failed before its turn's requests went out (a node down), which says nothing of latency.
    if (deadlineMs !== Infinity) this.adjustSendWindow(this.host.monotonicMs() - (deadlineMs - this.options.timeoutMs));
    // A request that fails as it is sent (its nodes down) ends inside the loop
    // below: the loop, further up the stack, sends the next ones, rather than
    // one more level of recursion per unsent request.
    if (this.sendingUnsent) return;
    this.sendingUnsent = true;
    try {
      this.sendUnsent();
    } finally {
      this.sendingUnsent = false;
    }
  }

  private sendUnsent(): void {
    while (this.sentCount < this.sendWindow && this.unsentCount > 0) {
      const send = this.unsent[this.unsentHead]!;
      // Counted again when tracked.
      this.pendingCount--;
      this.pendingBytesCount -= this.unsentBytes[this.unsentHead]!;
      this.unsent[this.unsentHead++] = undefined as unknown as () => void;
      if (this.unsentHead === this.unsent.length) {
        this.unsent.length = 0;
        this.unsentBytes.length = 0;
        this.unsentHead = 0;
      }
      send();
    }
  }

  private adjustSendWindow(latencyMs: number): void {
    const timeoutMs = this.options.timeoutMs;
    if (latencyMs > timeoutMs / 4) {
      const nowMs = this.host.monotonicMs();
      if (nowMs < this.sendWindowHeldUntilMs) return;
      this.sendWindow = Math.max(SEND_WINDOW_MIN, this.sendWindow >> 1);
      this.sendWindowHeldUntilMs = nowMs + latencyMs;
    } else if (latencyMs < timeoutMs / 8 && this.unsentCount > 0) {
      this.sendWindow = Math.min(SEND_WINDOW_MAX, this.sendWindow + 1);
    }
  }

  /** Without `deadlineMs` (a first attempt), the deadline starts when the request goes out (stampWhenSent). */
  private sendPut(request: PutRequest, w: number, callback: PutCallback, tag: number, deadlineMs?: number, retried = false): void {
    if (!retried) this.sentCount++;
    this.written(request.key);
    const replicas = coordinatorFirst(this.targetsOf(request.key), this.isUpBound);
    const gainers = this.gainersOf(request.key, replicas);
    const operation: PutOperation = new PutOperation(this, request, replicas, w, deadlineMs ?? Infinity, (error, bytes, t) => {
      this.release(operation);
      // Its coordinator failed before minting the version (Dynamo §4.5: any
      // node of the list can coordinate): once, try the next live one. Like a
      // client's retry, a version the failed node did commit may then show
      // as a sibling of this one.
      if (error !== undefined && operation.coordinatorLost && !retried && this.host.monotonicMs() < operation.deadlineMs && this.state === 'open' && !this.host.isUp(nodeOfTarget(replicas[0]!))) {
        this.counters.putRetries++;
        this.sendPut(request, w, callback, tag, stampedOrUndefined(operation.deadlineMs), true);
        return;
      }
      if (gainers !== undefined && bytes !== undefined) this.replicateToGainers(request.key, gainers, bytes);
      this.written(request.key);
      this.sentEnded(operation.deadlineMs);
      callback(error, bytes, t);
    }, tag);
    if (deadlineMs === undefined) this.stampWhenSent(operation);
    this.track(operation);
    this.writesInFlight.add(hashKey32(request.key));
    operation.start();
  }

  /** Without `deadlineMs` (a first attempt), the deadline starts when the request goes out (stampWhenSent). */
  private sendGet(key: WireKey, r: number, callback: GetCallback, tag: number, deadlineMs?: number, retried = false, fill?: CacheFill): void {
    if (!retried) this.sentCount++;
    const list = this.readTargetsOf(key, r);
    const divergent = this.divergentKey === key && !retried ? this.divergentTargets : undefined;
    this.divergentKey = undefined;
    const replicas = divergent ?? (this.readBalance === 'least-loaded'
      ? leastLoadedReplicas(list, r, this.options.readFanout, this.readRotation++, this.isUpBound, this.loadOfBound)
      : readReplicas(list, r, this.options.readFanout, this.readRotation++, this.isUpBound));
    const operation: GetOperation = new GetOperation(this, key, replicas, r, deadlineMs ?? Infinity, (error, result, t) => {
      this.release(operation);
      // The merge of R replicas, kept if the key is hot and no write of it raced this read.
      if (fill !== undefined && error === undefined) this.hotKeys!.fill(fill.key, operation.quorum.result(), r, fill.epoch, this.host.monotonicMs());
      // A replica failed under it (not a timeout): reads are idempotent, so
      // ask again once, now that the failed node is routed around.
      if (error?.code === ErrorCode.QUORUM && !retried && this.state === 'open' && this.host.monotonicMs() < operation.deadlineMs && someDown(replicas, this.isUpBound)) {
        this.sendGet(key, r, callback, tag, stampedOrUndefined(operation.deadlineMs), true, fill);
        return;
      }
      this.sentEnded(operation.deadlineMs);
      callback(error, result, t);
    }, tag);
    // The one-answer fast path skips the merged object the cache keeps.
    if (fill !== undefined) operation.keepObject = true;
    if (deadlineMs === undefined) this.stampWhenSent(operation);
    this.track(operation);
    operation.start();
  }

  /**
   * A request's deadline starts when it goes out, not when it was called: a
   * caller's synchronous burst holds the event loop, and the turn's requests
   * are sent (envelopes flushed) only after it. With deadlines from the call,
   * a burst of a million puts that took 8.5 s to issue timed out every one of
   * the 262,144 it admitted (timeoutMs 5 s). The turn's operations get their
   * deadline at the end of the turn (the host's scheduleFlush), beside the flush.
   */
  private stampWhenSent(operation: GetOperation | PutOperation): void {
    if (this.unstamped.length === 0) this.host.scheduleFlush(this.stampDeadlines);
    this.unstamped.push(operation);
  }

  private readonly stampDeadlines = (): void => {
    const deadlineMs = this.host.monotonicMs() + this.options.timeoutMs;
    for (const operation of this.unstamped) if (operation.deadlineMs === Infinity) operation.deadlineMs = deadlineMs;
    this.unstamped.length = 0;
  };

  /** Slab chunks of putMany batches that ended, for the next ones' (value-slab.ts). */
  readonly slabChunks = new SlabChunks();

  /** putMany's items, checked and encoded (put-many-items.ts): resolves when every put met its W. */
  async putMany(items: PutManyItems): Promise<void> {
    if (items.count === 0) return;
    const bytes = items.bytes;
    if (this.transition !== undefined) {
      this.admit(1, bytes);
      // Ranges are moving: each put also reaches its gaining nodes (startPut), which the batch path does not do.
      return this.runBatch(items.count, (i, done: PutCallback) => this.startPut(items.requestAt(i), items.ws[i]!, done, i));
    }
    const windowMax = Math.min(BATCH_WINDOW_MAX, this.options.pendingMax - this.pendingCount);
    this.admit(1, bytes);
    if (this.hotKeys !== undefined) for (let i = 0; i < items.count; i++) this.written(items.keyOf(i));
    await new Promise<void>((resolve, reject) => {
      const batch = new PutBatch(
        this,
        items,
        this.options.n,
        this.routeWriteHash,
        windowMax,
        this.options.timeoutMs,
        (error) => {
          if (this.hotKeys !== undefined) for (let i = 0; i < items.count; i++) this.written(items.keyOf(i));
          // Every item met its W: each was sent, from copies, and none is sent again (a failed batch's may still be: a late retry reads its value).
          if (error === undefined) items.releaseSlab();
          this.release(batch);
          if (batch.isSettled) this.settleOperation(batch);
          if (error) reject(error);
          else resolve();
        },
        this.writer === undefined ? undefined : this.mintWrite,
      );
      this.track(batch);
      batch.start();
    });
  }

  /**
   * getMany's keys, the caller's and not checked yet: results in their order.
   * Keys are read a window at a time and the caller may change its array or
   * buffers once the call returned, so whatever is kept is copied: by the
   * R = 1 batch, only the keys it has not read by then (it checks each chunk
   * of keys just before reading it, SingleReadBatch); here, all of them,
   * after checking them all.
   */
  async getMany(callerKeys: readonly WireKey[], r: number, keyBytesMax: number): Promise<(GetResult | undefined)[]> {
    if (r === 1 && this.options.readFanout === 'quorum') return this.singleReadBatch(callerKeys, keyBytesMax);
    for (let i = 0; i < callerKeys.length; i++) checkKey(callerKeys[i], keyBytesMax);
    const keys = callerKeys.map(ownKey);
    // Dense: a missing key is an explicit undefined, which filter, map and forEach visit.
    const results: (GetResult | undefined)[] = new Array<GetResult | undefined>(keys.length).fill(undefined);
    await this.runBatch(keys.length, (i, done: GetCallback) => this.startGet(keys[i]!, r, done, i), (i, result) => {
      results[i] = result as GetResult | undefined;
    });
    return results;
  }

  /**
   * Who mints putMany's versions in 'lww' stores (writer-version.ts), for
   * put-many-items.ts to mint each item as it reads it; undefined where
   * nodes mint every version.
   */
  get putManyWriter(): WriterVersions | undefined {
    return this.writer;
  }

  /** A putMany item's object, minted here (writer-version.ts): sent to every replica at once. */
  private readonly mintWrite: PutMint = (context, value, timestampMs, expiresAtMs, tombstone, reserved) =>
    // Into a reused buffer: PutBatch copies it into the replicas' envelopes at once and keeps no reference.
    this.writer!.mintTransient(context, value, timestampMs, expiresAtMs, tombstone, reserved);

  /** A putMany item's targets, by the hash its batch took (put-many-items.ts). */
  private readonly routeWriteHash = (hash32: number): Int32Array =>
    coordinatorFirst(targetsFor(this.preferenceLists, hash32, this.isUpBound, this.options.sloppy, this.mayStandInBound), this.isUpBound);

  /**
   * Where a key's requests go: its preference list while those nodes are up;
   * with some down, the up ones plus stand-ins holding hints for the others
   * (sloppy quorum, Dynamo §4.6), or, with `sloppy: false`, the list as it is
   * (requests to down nodes fail at once, so the quorum fails if too few are up).
   */
  private targetsOf(key: WireKey): Int32Array {
    return targetsFor(this.preferenceLists, hashKey32(key), this.isUpBound, this.options.sloppy, this.mayStandInBound);
  }

  private readTargetsOf(key: WireKey, r: number): Int32Array {
    return readTargets(this.preferenceLists, hashKey32(key), r, this.options.sloppy, this.isUpBound, this.mayStandInBound);
  }

  private readonly isUpBound = (nodeId: number): boolean => this.host.isUp(nodeId);

  /** Stand-ins, a write's and a read's: up nodes, but not one a membership change is removing (sloppy-quorum.ts sloppyTargets says why). */
  private readonly mayStandInBound = (nodeId: number): boolean => nodeId !== this.leavingNode && this.host.isUp(nodeId);

  /** SingleReadBatch: reads in place are bounded per macrotask (direct-reads.ts) only where the host has turns. */
  batchReadsLeft(reads: number): boolean {
    return this.readPath !== 'direct' || this.host.nextTurn === undefined || this.host.inPlaceTurnLeft?.(reads, true) !== false;
  }

  nextTurn(run: () => void): void {
    this.host.nextTurn!(run);
  }

  batchSettled(operation: Operation): void {
    this.settleOperation(operation);
  }

  private singleReadBatch(keys: readonly WireKey[], keyBytesMax: number): Promise<(GetResult | undefined)[]> {
    if (keys.length === 0) return Promise.resolve([]);
    const windowMax = Math.min(BATCH_WINDOW_MAX, this.options.pendingMax - this.pendingCount);
    this.admit(1);
    return new Promise((resolve, reject) => {
      const batch: SingleReadBatch = new SingleReadBatch(this, keys, keyBytesMax, this.routeRead, windowMax, this.options.timeoutMs, (error, results) => {
        this.release(batch);
        this.settleOperation(batch);
        if (error) reject(error);
        else resolve(results);
      });
      this.track(batch);
      batch.start();
      batch.ownKeys();
    });
  }

  /** R = 1: one replica, rotating through the preference list so that hot keys spread. */
  private readonly routeRead = (key: WireKey): number => {
    const list = this.readTargetsOf(key, 1);
    // Read in place: always the same copy (routing.ts firstLiveTarget); by message, rotating so that hot keys spread over the node threads.
    const target = this.readPath === 'direct' ? firstLiveTarget(list, this.isUpBound) : -1;
    return target >= 0 ? target : singleReadTarget(list, this.readRotation++, this.isUpBound);
  };

  wallClockMs(): number {
    return this.host.wallClockMs();
  }

  monotonicMs(): number {
    return this.host.monotonicMs();
  }

  observeTimestampMs(timestampMs: number): void {
    this.clock.observe(timestampMs);
  }

  toResult(object: VersionedObject | undefined): GetResult | undefined {
    // A write made with this read's context must come after what it read, whatever the wall clock says.
    if (object !== undefined) for (const entry of object.entries) for (const sibling of entry.siblings) this.clock.observe(sibling.timestampMs);
    // 'lww': a merge of replicas may hold concurrent values that each replica's settle resolves by timestamp (a
    // delete newer than a put its node never saw): answered as they resolve it. toGetResult's newest live value
    // skipped the newer tombstone and answered the deleted value (found by the simulation's lww resurrection check).
    const settled = object !== undefined && this.options.conflicts === 'lww' ? lastWriterWins(object) : object;
    const result = toGetResult(settled, this.host.wallClockMs(), this.options.resolve);
    if (result !== undefined && result.siblings.length > 1) this.counters.siblingsSeen++;
    return result;
  }

  /**
   * Send a window of a batch at a time: one promise per batch, one completion
   * closure per batch (items carry their index as a tag), bounded in-flight work.
   */
  private runBatch<T>(
    count: number,
    start: (index: number, done: (error: RingtableError | undefined, result: T, tag: number) => void) => void,
    collect?: (index: number, result: T) => void,
  ): Promise<void> {
    if (count === 0) return Promise.resolve();
    this.admit(1);
    const window = Math.max(1, Math.min(BATCH_WINDOW_MAX, this.options.pendingMax - this.pendingCount, count));
    return new Promise<void>((resolve, reject) => {
      let next = 0;
      let finished = 0;
      let failed = false;
      // Items may finish inside start (reads in place): the loop, not recursion, starts the next ones.
      let starting = false;
      const fill = () => {
        if (starting) return;
        starting = true;
        while (!failed && next < count && next - finished < window) start(next++, done);
        starting = false;
      };
      const done = (error: RingtableError | undefined, result: T, tag: number) => {
        finished++;
        if (error !== undefined && !failed) {
          failed = true;
          reject(error);
        }
        if (failed) return;
        if (collect !== undefined) collect(tag, result);
        if (finished === count) return resolve();
        fill();
      };
      fill();
    });
  }

  // ---- leader-ordered keys (DESIGN.md §3, §5) ----------------------------------

  /** The key's ring partition and its own replicas (no stand-ins: an ordered write needs the real ones). */
  orderedPlacement(key: WireKey, hash = hashKey32(key)): { partition: number; list: Int32Array } {
    return { partition: this.ringValue.partitionOf(hash), list: this.preferenceLists.forHash(hash) };
  }

  startOrderedWrite(request: OrderedWriteRequest, w: number, callback: OrderedWriteCallback): void {
    const { list } = this.orderedPlacement(request.key);
    const gainers = this.gainersOf(request.key, list);
    this.written(request.key);
    const operation: OrderedWriteOperation = new OrderedWriteOperation(this, request, list, Math.min(w, list.length), this.host.monotonicMs() + this.options.timeoutMs, (error, bytes) => {
      this.release(operation);
      if (operation.keyIds.length > 0) this.orderedWriteSettled(operation, error === undefined);
      this.written(request.key);
      for (const { key } of operation.alsoObjects) this.written(key);
      if (gainers !== undefined && bytes !== undefined) {
        // A gaining node takes each key as a copy, as the range move streams them (not atomically: it is not a replica yet).
        this.replicateToGainers(request.key, gainers, bytes);
        for (const { key, object } of operation.alsoObjects) this.replicateToGainers(key, gainers, object);
      }
      callback(error, bytes);
    });
    this.track(operation);
    operation.start();
  }

  /** A key (kind 'get') or a range from `key` (kind 'range', `payload` its RANGE fields), from one replica; a key read in place where it may be (answered before this returns). */
  startOrderedRead(kind: 'get' | 'range', key: WireKey, payload: Uint8Array | undefined, consistent: boolean, callback: OrderedReadCallback, hash32?: number): void {
    if (kind === 'range') return this.sendOrderedRead(kind, key, payload, consistent, callback, hash32);
    const answer = this.orderedGetInPlace(key, consistent, hash32);
    if (answer === NOT_IN_PLACE || answer === LATER) return this.orderedGetNotInPlace(answer, key, consistent, callback, hash32);
    callback(undefined, answer.status, answer.payload, answer.replica);
  }

  /** An ordered get orderedGetInPlace did not answer now: read in place in the next macrotask (LATER), else by an operation. */
  orderedGetNotInPlace(verdict: typeof NOT_IN_PLACE | typeof LATER, key: WireKey, consistent: boolean, callback: OrderedReadCallback, hash32?: number): void {
    if (verdict === NOT_IN_PLACE) return this.sendOrderedRead('get', key, undefined, consistent, callback, hash32);
    // Counted as pending while it waits, as getLater's.
    this.pendingCount++;
    if (this.laterOrderedGets.size === 0) this.host.nextTurn!(this.runLaterOrderedGets);
    this.laterOrderedGets.push(key, consistent, callback);
  }

  private readonly laterOrderedGets = new LaterOrderedGets();

  private readonly runLaterOrderedGets = (): void => {
    const later = this.laterOrderedGets;
    while (later.size > 0) {
      const answer = this.orderedGetInPlace(later.key(), later.consistent());
      if (answer === LATER) break;
      const key = later.key();
      const consistent = later.consistent();
      const callback = later.shift();
      this.pendingCount--;
      if (answer === NOT_IN_PLACE) this.sendOrderedRead('get', key, undefined, consistent, callback);
      else callback(undefined, answer.status, answer.payload, answer.replica);
    }
    if (later.size > 0) this.host.nextTurn!(this.runLaterOrderedGets);
  };

  /**
   * One leader-ordered key answered now from a copy read in place
   * (ordered-in-place-get.ts decides which, and whether the operation would
   * read that copy unchanged), or NOT_IN_PLACE: then sendOrderedRead it.
   */
  orderedGetInPlace(key: WireKey, consistent: boolean, hash32?: number, decode = false): OrderedReadAnswer | typeof NOT_IN_PLACE | typeof LATER {
    if (this.readPath !== 'direct' || this.host.readInPlace === undefined || this.state !== 'open') return NOT_IN_PLACE;
    const hash = hash32 ?? hashKey32(key);
    const partition = this.ringValue.partitionOf(hash);
    const keyTracked = consistent && this.uncommitted.size > 0 && this.uncommitted.tracks(keyIdOf(key));
    // The rotation moves only when the read is answered here: declined, the operation's own turn of it
    // (singleReadTarget) must pick this same replica, or a lagging replica that cannot be read in place
    // (fault-injected) would never be read at all, and an eventual read never seen stale.
    const target = orderedInPlaceTarget(consistent, this.preferenceLists.forHash(hash), consistent ? 0 : this.readRotation, this.isUpBound, this.leaders.get(partition), keyTracked);
    if (target < 0) return NOT_IN_PLACE;
    if (this.host.inPlaceTurnLeft?.() === false) return this.laterOrderedGets.size < LATER_GETS_MAX && this.host.nextTurn !== undefined ? LATER : NOT_IN_PLACE;
    const answer = this.orderedInPlaceAnswer;
    answer.reset(decode, decode ? this.host.wallClockMs() : 0);
    if (!this.host.readInPlace(target, key, answer, 0, false) || answer.state !== InPlaceState.ANSWERED) return NOT_IN_PLACE;
    this.orderedReadsInPlace++;
    if (!consistent) this.readRotation++;
    return answer.decoded === undefined ? { status: answer.status, payload: answer.payload, replica: target } : { status: answer.status, payload: answer.payload, replica: target, decoded: answer.decoded };
  }

  private readonly orderedInPlaceAnswer = new OrderedInPlaceAnswer();
  /** Ordered reads orderedGetInPlace answered (the simulation's tests count them). */
  orderedReadsInPlace = 0;

  /** startOrderedRead by an OrderedReadOperation: waits for the leader and for commits, retries, and reads in place only where sendRead does. */
  sendOrderedRead(kind: 'get' | 'range', key: WireKey, payload: Uint8Array | undefined, consistent: boolean, callback: OrderedReadCallback, hash32?: number): void {
    const { partition, list } = this.orderedPlacement(key, hash32);
    const operation: OrderedReadOperation = new OrderedReadOperation(this, kind, key, payload, partition, list, consistent, this.host.monotonicMs() + this.options.timeoutMs, (error, status, bytes, replica) => {
      this.release(operation);
      callback(error, status, bytes, replica);
    });
    this.track(operation);
    operation.start();
  }

  withLeader(partition: number, list: Int32Array, waiter: LeaderWaiter): void {
    let route;
    try {
      route = this.leaders.route(partition, list, this.isUpBound, waiter);
    } catch (error) {
      return waiter.leaderFailed(error as RingtableError);
    }
    if (route.action === 'unavailable') return waiter.leaderFailed(new RingtableError(ErrorCode.QUORUM, `no replica of partition ${partition} is up to lead it`, { answered: 0, required: 1, contacted: list.length }));
    if (route.action === 'serve') return waiter.leaderReady(route.leadership.leader, route.leadership.term);
    if (route.action === 'wait') return;
    const needed = Math.max(1, list.length - this.orderedW + 1);
    const electionHost = {
      send: this.host.send,
      isUp: this.isUpBound,
      partitionBits: this.ringValue.partitionBits,
      partitionOf: (hash32: number) => this.ringValue.partitionOf(hash32),
      isDropped: (key: Uint8Array) => this.isDroppedKey(key),
    };
    // Partitions nobody leads yet that share this one's replicas and leader are caught up in the same round.
    const lists = this.preferenceLists;
    const batch = this.leaders.electionBatch(route.leadership, list, needed, this.ringValue.partitionCount, (other) => lists.forPartition(other), this.isUpBound);
    const batchLists = batch.map((leadership, i) => (i === 0 ? list : lists.forPartition(leadership.partition)));
    this.electionsInFlight++;
    electLeaders(electionHost, batch, list, needed, Math.min(this.orderedW, list.length)).then(
      (results) => {
        this.electionsInFlight--;
        const again: ElectAgain[] = [];
        results.forEach((result, i) => this.electionSettled(batch[i]!, batchLists[i]!, result, needed, again));
        // The round's stale partitions elect again only once every one of them was let go, so that the
        // first one's round takes the others as companions (electionBatch) instead of each starting its own.
        for (const { partition, list, waiter } of again) this.withLeader(partition, list, waiter);
      },
      (error: unknown) => {
        this.electionsInFlight--;
        for (const leadership of batch) {
          const failure = new RingtableError(ErrorCode.NODE_FAILED, `partition ${leadership.partition}'s leader could not catch up: ${(error as Error).message}`);
          for (const failed of this.leaders.failed(leadership)) failed.leaderFailed(failure);
        }
      },
    );
  }

  /** One partition's election of a round ended: its waiters start, fail, or are to elect again (`again`). */
  private electionSettled(leadership: Leadership, list: Int32Array, result: ElectionResult, needed: number, again: ElectAgain[]): void {
    if (result.outcome === 'ready') {
      for (const ready of this.leaders.ready(leadership)) ready.leaderReady(leadership.leader, leadership.term);
      return;
    }
    if (result.outcome === 'stale') {
      // A node knows a newer term (this coordinator restarted): take terms above it, and elect again.
      this.leaders.learnTerm(result.knownTerm);
      for (const waiter of this.leaders.failed(leadership)) again.push({ partition: leadership.partition, list, waiter });
      return;
    }
    const error = new RingtableError(ErrorCode.QUORUM, result.reason, { answered: 0, required: needed, contacted: list.length });
    for (const failed of this.leaders.failed(leadership)) failed.leaderFailed(error);
  }

  // ---- commit before serving (uncommitted-keys.ts) ------------------------------

  /** The ids of the keys an ordered write makes (a change-log key whose version is appended is new, and read by range only once its write settled). */
  private orderedWriteIds(request: OrderedWriteRequest): string[] {
    const ids = [keyIdOf(request.key)];
    for (const also of request.also) if ((also.flags & AlsoFlag.APPEND_VERSION) === 0) ids.push(keyIdOf(also.key));
    return ids;
  }

  orderedWriteSent(operation: OrderedWriteOperation): void {
    const ids = this.orderedWriteIds(operation.request);
    for (let i = 0; i < ids.length; i++) {
      try {
        this.uncommitted.writeSent(ids[i]!, operation.request.partition);
      } catch (error) {
        for (let j = 0; j < i; j++) this.uncommitted.writeSettled(ids[j]!, false, () => 0);
        throw error;
      }
    }
    operation.keyIds = ids;
  }

  orderedWriteRefused(operation: OrderedWriteOperation): void {
    const ids = operation.keyIds;
    operation.keyIds = [];
    let released: CommitWaiter[] | undefined;
    for (const id of ids) {
      const waiters = this.uncommitted.writeSettled(id, false, () => 0);
      if (waiters.length > 0) (released ??= []).push(...waiters);
    }
    if (released !== undefined) for (const waiter of released) waiter.commitsSettled();
  }

  /** An ordered write's caller has its answer: its keys are committed, or in doubt up to what the leader may hold. */
  private orderedWriteSettled(operation: OrderedWriteOperation, committed: boolean): void {
    const ids = operation.keyIds;
    let released: CommitWaiter[] | undefined;
    for (let i = 0; i < ids.length; i++) {
      const waiters = this.uncommitted.writeSettled(ids[i]!, committed, () => (i === 0 ? operation.doubtVersion() : this.alsoVersion(operation, ids[i]!)));
      if (waiters.length > 0) (released ??= []).push(...waiters);
    }
    if (!committed) this.recordsInDoubt(operation);
    // Released before the writer hears back, so that a next write of the key it sends queues behind them.
    if (released !== undefined) for (const waiter of released) waiter.commitsSettled();
    if (!committed && this.uncommitted.doubtfulKeys > 0) this.resumeDoubtDrain();
  }

  /** A failed write's version-keyed also keys the leader made (not in keyIds: new keys) are in doubt with its key (uncommitted-keys.ts). */
  private recordsInDoubt(operation: OrderedWriteOperation): void {
    if (operation.alsoObjects.length === operation.keyIds.length - 1) return;
    const records: { id: string; version: number }[] = [];
    for (const { key, object } of operation.alsoObjects) {
      const id = keyIdOf(key);
      const version = orderedEntryOf(decodeObject(object))?.version ?? 0;
      if (version > 0 && !operation.keyIds.includes(id)) records.push({ id, version });
    }
    this.uncommitted.recordsInDoubt(operation.keyIds[0]!, operation.request.partition, records);
  }

  /** Something may let keys in doubt be committed now (a new one, a node started): passes at the first pace. */
  private resumeDoubtDrain(): void {
    this.doubtDrainIdlePasses = 0;
    this.doubtDrainLastCount = Number.POSITIVE_INFINITY; // the first pass is not judged
    this.armDoubtDrain();
  }

  private armDoubtDrain(): void {
    if (this.doubtDrainArmed || this.state === 'closing') return;
    this.doubtDrainArmed = true;
    this.doubtDrainTimer = this.host.setTimer(Math.max(DOUBT_DRAIN_MS_MIN, this.options.timeoutMs) * 2 ** this.doubtDrainIdlePasses, () => {
      this.doubtDrainArmed = false;
      this.drainDoubts();
    });
  }

  /** Commits keys in doubt that no one reads, a batch per pass, until none is left (a replica down: a later pass tries again). */
  private drainDoubts(): void {
    if (this.state === 'closing') return;
    const count = this.uncommitted.doubtfulKeys;
    if (count < this.doubtDrainLastCount) this.doubtDrainIdlePasses = 0;
    else if (++this.doubtDrainIdlePasses > DOUBT_DRAIN_IDLE_PASSES_MAX) return; // quiet until resumed
    this.doubtDrainLastCount = count;
    if (this.doubtDrainReads === 0) {
      for (const id of this.uncommitted.doubtfulIds(DOUBT_DRAIN_BATCH)) {
        this.doubtDrainReads++;
        try {
          this.startOrderedRead('get', keyBytesOf(id), undefined, true, () => this.doubtDrainReads--);
        } catch {
          this.doubtDrainReads--; // admission refused it (the store is busy): a later pass
          break;
        }
      }
    }
    if (this.uncommitted.doubtfulKeys > 0) this.armDoubtDrain();
  }

  /** An also key's version: its own object's when the leader answered, else every version of the write's term (or 0: not applied). */
  private alsoVersion(operation: OrderedWriteOperation, id: string): number {
    for (const { key, object } of operation.alsoObjects) if (keyIdOf(key) === id) return orderedEntryOf(decodeObject(object))?.version ?? 0;
    return operation.doubtVersion() === 0 ? 0 : termVersionMax(operation.orderedTerm);
  }

  commitGate(waiter: CommitWaiter, kind: 'get' | 'range', key: WireKey, payload: Uint8Array | undefined, partition: number, writtenAfter?: number): CommitGate {
    if (this.uncommitted.size === 0) return SERVE_GATE;
    if (kind === 'get') return this.uncommitted.gateKey(keyIdOf(key), waiter, writtenAfter);
    return this.uncommitted.gateRange(partition, keyIdOf(key), keyIdOf(decodeRangePayload(payload!).end), waiter, writtenAfter);
  }

  writesSent(): number {
    return this.uncommitted.writesSent;
  }

  keyWrittenSince(keyId: string, since: number): boolean {
    return this.uncommitted.keyWrittenSince(keyId, since);
  }

  writtenSince(kind: 'get' | 'range', key: WireKey, payload: Uint8Array | undefined, partition: number, since: number): boolean {
    if (this.uncommitted.size === 0) return false;
    if (kind === 'get') return this.uncommitted.keyWrittenSince(keyIdOf(key), since);
    return this.uncommitted.rangeWrittenSince(partition, keyIdOf(key), keyIdOf(decodeRangePayload(payload!).end), since);
  }

  stopWaitingCommits(keyId: string, waiter: CommitWaiter): void {
    this.uncommitted.removeWaiter(keyId, waiter);
  }

  commitKey(keyId: string, partition: number, list: Int32Array, leader: number, term: number, callback: KeyCommitCallback): void {
    const commit = new KeyCommit(this, keyBytesOf(keyId), partition, list, leader, term, this.orderedW, (error, status, objectBytes, version) => {
      if (error === undefined) for (const waiter of this.uncommitted.committed(keyId, version)) waiter.commitsSettled();
      callback(error, status, objectBytes, version);
    });
    commit.start();
  }

  leaderRefused(partition: number, term: number, knownTerm: number): void {
    this.leaders.learnTerm(knownTerm);
    this.leaders.forget(partition, term);
  }

  stopWaiting(partition: number, waiter: LeaderWaiter): void {
    this.leaders.removeWaiter(partition, waiter);
  }

  anyUpReplica(list: Int32Array): number {
    return singleReadTarget(list, this.readRotation++, this.isUpBound);
  }

  isUp(node: number): boolean {
    return this.host.isUp(node);
  }

  orderedSettled(operation: OrderedWriteOperation | OrderedReadOperation): void {
    if (!this.settleOperation(operation)) return;
    if (!(operation instanceof OrderedWriteOperation) || !operation.request.tombstone || !operation.allAcked) return;
    // A delete every replica acknowledged: its tombstone goes by the purge rule, as a put's does.
    if (operation.list.length >= this.options.n) this.purges.schedule(operation.request.key, Array.from(operation.list), operation.objectBytes!, this.host.monotonicMs());
  }

  /** A key of a dropped space: nothing copies it anywhere again. */
  isDroppedKey(key: WireKey): boolean {
    if (this.droppedSpaces.size === 0 || typeof key === 'string' || key[0] !== PARTITIONED_KEY_MARKER || !isWellFormedPartitionedKey(key)) return false;
    return this.droppedSpaces.has(splitPartitionedKey(key).space);
  }

  dropSpaceLocally(space: number): void {
    if (this.droppedSpaces.has(space)) return;
    if (this.droppedSpaces.size >= DROPPED_SPACES_MAX) throw new RingtableError(ErrorCode.INVALID_OPTIONS, `at most ${DROPPED_SPACES_MAX} spaces can be dropped over a store's life`);
    this.droppedSpaces.add(space);
  }

  // ---- the links -------------------------------------------------------------

  /** `target` is a node, or a node standing in for another (ring/sloppy-quorum.ts). */
  send(target: number, request: RequestRecord, reply: PendingReply, tag: number): void {
    // An envelope's items were counted as they were packed.
    if (request.op !== Op.WRITE_BATCH) this.replicaLoad.add(nodeOfTarget(target));
    this.host.send(target, request, reply, tag);
  }

  /** A GET: read in place where read-path.ts allows it and the host can (answered before this returns), else sent. */
  sendRead(target: number, request: RequestRecord, reply: PendingReply, tag: number, batch = false): void {
    if (readsInPlace(this.readPath, target, this.isUpBound) && this.host.readInPlace?.(target, request.key, reply, tag, batch) === true) return;
    this.replicaLoad.add(nodeOfTarget(target));
    this.host.send(target, request, reply, tag);
  }

  /**
   * A consistent read of one key at `leader` under `term`: read in place where
   * a GET to it would be and its leadership allows (partition-leaders.ts:
   * led since its catch-up, not restarted since), else sent for the node to
   * check the term.
   */
  sendLeaderRead(leader: number, partition: number, term: number, request: RequestRecord, reply: PendingReply, tag: number): void {
    if (this.leaders.readsInPlace(partition, leader, term)) return this.sendRead(leader, request, reply, tag);
    this.host.send(leader, request, reply, tag);
  }

  /**
   * `send`, packed with other writes to the same node into a write envelope
   * (wire.ts): one message, one slot and one wake for up to
   * ENVELOPE_ITEMS_TARGET copies. For PUT and REPLICATE; an item too large
   * for an envelope goes alone.
   */
  sendBatched(target: number, request: RequestRecord, reply: PendingReply, tag: number): void {
    // A node down or gone fails the request at once, through send; so does nothing wait in an envelope for it.
    this.replicaLoad.add(nodeOfTarget(target));
    const packable = this.writeEnvelopes && !this.host.isDown(nodeOfTarget(target));
    if (!packable || !this.envelopes.add(target, request, reply, tag)) {
      this.host.send(target, request, reply, tag);
    }
  }

  sendBatchedMessage(target: number, message: Uint8Array, reply: PendingReply, tag: number): boolean {
    if (!this.writeEnvelopes || this.host.isDown(nodeOfTarget(target)) || !this.envelopes.addMessage(target, message, reply, tag)) return false;
    this.replicaLoad.add(nodeOfTarget(target));
    return true;
  }

  // ---- settling ----------------------------------------------------------------

  readSettled(operation: GetOperation): void {
    if (!this.settleOperation(operation)) return;
    const { repairTargets, repairBytes, purgeBytes } = operation.settledActions(this.options.n);
    if (repairTargets.length > 0) this.sendReadRepairs(operation.key, repairTargets, repairTargets.length, repairBytes!);
    if (purgeBytes !== undefined) this.purges.schedule(operation.key, Array.from(operation.quorum.replicas), purgeBytes, this.host.monotonicMs());
  }

  /** Read repair (Dynamo §4.7): the merged object to each of `targets[0, count)` that answered with something older, in the background, bounded by backgroundMax. */
  private sendReadRepairs(key: WireKey, targets: ArrayLike<number>, count: number, objectBytes: Uint8Array): void {
    const repair = requestOf(Op.REPLICATE, key, objectBytes);
    // A put of this key is still on its way to its replicas (writes-in-flight.ts): it brings them up; once it settled, a read that finds one behind repairs it.
    if (this.writesInFlight.covers(hashKey32(key))) {
      this.counters.readRepairsCovered += count;
      return;
    }
    for (let i = 0; i < count; i++) {
      if (this.backgroundCount >= this.backgroundMax) {
        this.counters.readRepairsSkipped++;
        continue;
      }
      this.counters.readRepairs++;
      this.backgroundCount++;
      this.send(targets[i]!, repair, this.backgroundReply, 0);
    }
  }

  writeSettled(operation: PutOperation): void {
    if (!this.settleOperation(operation)) return;
    const { purgeBytes } = operation.settledActions(this.options.n);
    if (purgeBytes !== undefined) this.purges.schedule(operation.request.key, Array.from(operation.quorum.replicas), purgeBytes, this.host.monotonicMs());
  }

  /** Sends the purge, or not now (false): then it waits again, or the tombstone stays. */
  private sendPurge(key: WireKey, replicas: readonly number[], objectBytes: Uint8Array): boolean {
    if (this.state !== 'open') return false;
    // Not now (a hint owed to a replica or a removed node, or ranges moving): the tombstone stays; a later read or delete purges it.
    const due = {
      replicas,
      currentReplicas: this.preferenceListOf(key),
      hintsOwedTo: this.hostHintsOwedTo,
      rangesMoving: this.membershipChange !== undefined,
      retired: this.host.retiredIds(),
      others: this.ringValue.nodeIds(),
    };
    if (!shouldSendPurge(due)) return false;
    if (!this.sweepsHere && this.ownershipEnabled) {
      // An attached store cannot tell whether a stranded copy outlives the tombstone: its owner, which sweeps, decides.
      this.forwardPurge?.(key, replicas, objectBytes);
      return false;
    }
    if (this.ownership.pending) {
      // A node owed an ownership sweep (it just started, or was down through a
      // change) may hold an older version outside its ranges: try again once
      // the sweeps are done, rather than drop the purge (sweeps follow every start).
      const nowMs = this.host.monotonicMs();
      // The retry queue: schedule() would add a whole grace period again, out of its queue's due order.
      this.purges.retry(key, replicas, objectBytes, nowMs);
      // The watch ticks the sweeps; so does each retry (the simulation's watch stops once it sees nothing left to do).
      this.tickHandoffs(nowMs);
      return false;
    }
    if (this.ownershipEnabled && !this.strandedCopiesRuledOut(key, replicas, objectBytes, due.currentReplicas)) return false;
    const purge = requestOf(Op.PURGE, key, objectBytes);
    for (const node of replicas) {
      this.backgroundCount++;
      this.send(node, purge, this.backgroundReply, 0);
    }
    return true;
  }

  /**
   * A node outside the key's replicas not swept clean since the last change
   * ended may hold an older copy that would outlive the tombstone (found by
   * the simulation, seed 19787 of 'sloppy-membership'): sweep those nodes and
   * try the purge again once they are done (the branch above waits for them).
   */
  private strandedCopiesRuledOut(key: WireKey, replicas: readonly number[], objectBytes: Uint8Array, currentReplicas: ArrayLike<number>): boolean {
    const sweptFromMs = this.ownership.changeEndedMs + this.options.tombstoneGraceMs;
    const unswept = nodesToSweepBeforePurge({
      nodes: this.ringValue.nodeIds(),
      currentReplicas,
      sweptCleanSinceMs: this.sweptCleanSinceMs,
      changeEndedMs: this.ownership.changeEndedMs,
      graceMs: this.options.tombstoneGraceMs,
    });
    if (unswept.length === 0) return true;
    for (const node of unswept) this.ownership.owe(node, sweptFromMs);
    const nowMs = this.host.monotonicMs();
    // Soon: the sweeps of a small store end within a tick or two; if they still run then, the branch above waits.
    this.purges.retry(key, replicas, objectBytes, nowMs);
    // Start them now if they may begin (the watch ticks them on otherwise; this retry ticks again).
    this.tickHandoffs(nowMs);
    return false;
  }

  private readonly hostHintsOwedTo = (node: number): number => this.host.hintsOwedTo(node);
  private readonly sweptCleanSinceMs = (node: number): number | undefined => this.ownership.sweptCleanSinceMs(node);

  /** An operation settles once (false on a later call); the counts it held are released. */
  private settleOperation(operation: Operation): boolean {
    if (!this.active.delete(operation)) return false;
    if (operation instanceof PutOperation) this.writesInFlight.remove(hashKey32(operation.request.key));
    this.pendingBytesCount -= operation.bytes ?? 0;
    if (operation.callerDone) this.backgroundCount -= operation.weight;
    else this.pendingCount -= operation.weight;
    assert.ok(this.pendingCount >= 0 && this.backgroundCount >= 0, 'operation accounting went negative');
    return true;
  }

  /** The caller has its answer: what remains of the operation is background work. */
  private release(operation: Operation): void {
    if (operation.callerDone) return;
    operation.callerDone = true;
    if (!this.active.has(operation)) return;
    this.pendingCount -= operation.weight;
    this.backgroundCount += operation.weight;
    assert.ok(this.pendingCount >= 0, 'pending operations went negative');
  }

  private track(operation: Operation): void {
    assert.ok(!this.active.has(operation), 'an operation is tracked once');
    this.active.add(operation);
    this.pendingCount += operation.weight;
    this.pendingBytesCount += operation.bytes ?? 0;
    if (!this.deadlineArmed) this.armDeadlines();
  }

  /** One timer for every deadline: scanning pending operations is O(pendingMax) per tick, bounded. */
  private armDeadlines(): void {
    const tickMs = Math.max(1, Math.min(DEADLINE_TICK_MS_MAX, Math.floor(this.options.timeoutMs / 4)));
    this.deadlineArmed = true;
    this.deadlineTimer = this.host.setTimer(tickMs, () => {
      this.deadlineArmed = false;
      const nowMs = this.host.monotonicMs();
      for (const operation of this.active) {
        if (operation.deadlineMs > nowMs) continue;
        this.settleOperation(operation);
        this.counters.timeouts++;
        operation.expire();
      }
      if (this.active.size > 0) this.armDeadlines();
    });
  }

  // ---- membership changes (membership-change.ts drives them) ------------------

  /** Operations in flight now: a membership change waits for those routed by the old ring. */
  activeOperations(): Operation[] {
    return [...this.active];
  }

  isActive(operation: Operation): boolean {
    return this.active.has(operation);
  }

  /** Ranges start moving to `table`'s ring: puts to the changing partitions also reach their gaining nodes. */
  beginTransition(table: PreferenceListTable, changed: Uint8Array): void {
    this.transition = { table, changed };
  }

  endTransition(): void {
    this.transition = undefined;
  }

  /** The switch: from here requests route by `ring`. */
  switchRing(ring: Ring, table: PreferenceListTable): void {
    this.ringValue = ring;
    this.preferenceLists = table;
  }

  /** During a range move: the nodes that will replicate the key and are not among its current targets. */
  private gainersOf(key: WireKey, targets: Int32Array): number[] | undefined {
    const transition = this.transition;
    if (transition === undefined) return undefined;
    const hash = hashKey32(key);
    if (transition.changed[this.ringValue.partitionOf(hash)] === 0) return undefined;
    const gainers: number[] = [];
    for (const node of transition.table.forHash(hash)) {
      let listed = false;
      for (const target of targets) if (nodeOfTarget(target) === node) listed = true;
      if (!listed) gainers.push(node);
    }
    return gainers.length > 0 ? gainers : undefined;
  }

  private replicateToGainers(key: WireKey, gainers: number[], objectBytes: Uint8Array): void {
    const copy = requestOf(Op.REPLICATE, key, objectBytes);
    for (const node of gainers) {
      this.backgroundCount++;
      this.send(node, copy, this.backgroundReply, 0);
    }
  }

  // ---- closing -------------------------------------------------------------------

  /** No retries and no purges from now on: the store is closing. */
  beginClose(): void {
    this.state = 'closing';
  }

  /** After the operations ended: drop pending purges and the deadline timer. */
  close(): void {
    this.purges.clear();
    this.hotKeys?.clear();
    if (this.deadlineArmed) this.host.clearTimer(this.deadlineTimer);
    this.deadlineArmed = false;
    if (this.doubtDrainArmed) this.host.clearTimer(this.doubtDrainTimer);
    this.doubtDrainArmed = false;
  }
}

/** A request whose partition's election came back stale: routed again once its whole round settled. */
interface ElectAgain {
  partition: number;
  list: Int32Array;
  waiter: LeaderWaiter;
}

/** A cacheable get's key in the hot-key cache, and the write epoch it started at. */
interface CacheFill {
  key: string;
  epoch: number;
}

/** Coordinator.cachedInPlace: a miss, counted (Coordinator.cacheMissKey, and cacheMissFill for a hot key's). */
const MISSED = Symbol('missed');

/** A retry keeps its first attempt's deadline, once that has started. */
function stampedOrUndefined(deadlineMs: number): number | undefined {
  return deadlineMs === Infinity ? undefined : deadlineMs;
}
