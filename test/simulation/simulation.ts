/**
 * One seeded run of the whole cluster in one thread: the real Replica on
 * every node, the real quorum operations on the coordinator, simulated
 * links, clock and storage. Everything random comes from Prng streams
 * derived from the seed, and events at the same virtual instant run in the
 * order they were scheduled, so a seed replays exactly.
 *
 * A run: clients work while faults strike (chaos); then the network heals,
 * crashed nodes restart, handoffs finish, anti-entropy repairs, every key is
 * read once more with R = N; then the checkers judge the history and the
 * final stored state (checkers.ts).
 */
import { Prng, deriveSeed } from '../../lib/prng.js';
import { Ring } from '../../lib/ring/ring.js';
import { Coordinator, LATER, NOT_IN_PLACE } from '../../lib/store/coordinator.js';
import { CacheUse } from '../../lib/store/in-place-get.js';
import type { CoordinatorHost } from '../../lib/store/coordinator-host.js';
import { changeMembership, drainLeavingHints, moveTo } from '../../lib/store/membership-change.js';
import type { PutRequest } from '../../lib/store/operations.js';
import { putManyItems } from '../../lib/store/put-many-items.js';
import type { PutManyEntry } from '../../lib/store/store-types.js';
import { type ResolvedOptions, resolveOptions } from '../../lib/config/options.js';
import { writerEpochOf } from '../../lib/version/writer-version.js';
import type { GetCallback } from '../../lib/store/operation.js';
import type { PendingReply } from '../../lib/transport/node-link.js';
import { encodeValue } from '../../lib/store/value-codec.js';
import { type CausalContext, join } from '../../lib/version/dotted-version-vector.js';
import { decodeContext, decodeObject, encodeContext } from '../../lib/version/object-codec.js';
import { Op, RequestFlag, type RequestRecord, Response, Status, copyBytes, forEachEnvelopeItem } from '../../lib/transport/wire.js';
import { type Failure, checkAll, entryTimestampsDiffer } from './checkers.js';
import { EventQueue } from './event-queue.js';
import { History, type WriteRecord, ackedDotOf } from './history.js';
import type { StorageFaults } from './memory-storage.js';
import { repairAll } from './repair.js';
import type { Scenario } from './scenario.js';
import { SimHost, envelopeItemId } from './sim-host.js';
import { RELIABLE, SimNetwork } from './sim-network.js';
import { type NodeFaults, SimNode } from './sim-node.js';
import { Trace } from './trace.js';
import { OrderedHistory, companionKey } from './ordered-history.js';
import { ExpectKind, decodeKeyedObjects, decodeRangePage, encodeRangePayload } from '../../lib/transport/wire.js';
import { hashKey32, partitionedKey } from '../../lib/ring/hash.js';
import { orderedEntryOf } from '../../lib/version/ordered-version.js';
import { decodeValue } from '../../lib/store/value-codec.js';
import type { World } from './world.js';
import { simTableEngine } from './sim-table-engine.js';
import { type TransactionFaults, TransactionWorkload } from './transaction-workload.js';

/** Bugs planted on purpose, to show that each checker can fail. */
export interface Bugs {
  storage?: StorageFaults;
  node?: NodeFaults;
  /** Nodes run this conflict mode whatever the scenario says (the checkers keep the scenario's). */
  replicaConflicts?: 'siblings' | 'lww';
  /**
   * The coordinator as before issue 9's fix: no ownership handoff (a node
   * that was down through a membership change keeps its data of the ranges
   * that moved, where no read looks) and hints go to their named owner even
   * when it no longer replicates the key.
   */
  strandForeign?: boolean;
  /** The transaction path (scenario 'transactions'). */
  transactions?: TransactionFaults;
  /**
   * The coordinator as before commit-before-serving (lib/store/uncommitted-keys.ts):
   * a consistent read, or a compare-and-set, is served from the leader's copy
   * even while the key's write is in flight or failed after reaching the leader.
   */
  serveUncommitted?: boolean;
  /** Consistent reads of one key in place (lib/store/ordered-in-place-get.ts) ignore the key's writes in flight or in doubt. */
  inPlaceIgnoresDoubt?: boolean;
  /** putMany counts a MINT_ONLY answer as its minting node's acknowledgement (sim-host.ts mintAnswerAcks). */
  mintAnswerAcks?: boolean;
}

export interface RunOptions {
  trace?: boolean;
  bugs?: Bugs;
}

export interface RunStats {
  events: number;
  virtualMs: number;
  writes: number;
  writesAcked: number;
  reads: number;
  readsOk: number;
  crashes: number;
  partitions: number;
  membershipChanges: number;
  messages: number;
  lost: number;
  siblingReads: number;
  /** Keys whose replicas converged but keep different entry timestamps (see checkConvergence). */
  entryTimestampsDiffer: number;
  /** Gets the R + W > N check applied to. */
  readsChecked: number;
  hintsDelivered: number;
  putRetries: number;
  /** putMany calls, and their items acknowledged (each is also counted in writes and writesAcked). */
  putManyCalls: number;
  putManyItemsAcked: number;
  /** Membership changes that failed (a node they streamed from or to failed): the ring stayed as it was, or the change ended early. */
  membershipChangesFailed: number;
  /** Leader-ordered writes acknowledged, consistent reads that answered, races with a winner, leader elections. */
  orderedAcked: number;
  consistentReadsOk: number;
  /** Keys observed by consistent range reads that answered (each key of a page counts once). */
  consistentRangeReadsOk: number;
  racesWon: number;
  elections: number;
  /** Election rounds: each catches up one or more of those terms together (PartitionLeaders.electionBatch). */
  electionRounds: number;
}

/** Scenario 'transactions': transfers by outcome, attempts by outcome, snapshots read, database processes killed. */
export interface TransactionStats {
  transfers: Record<string, number>;
  attempts: Record<string, number>;
  snapshots: number;
  processesKilled: number;
}

export interface RunResult {
  seed: number;
  scenario: string;
  failures: Failure[];
  stats: RunStats;
  transactions?: TransactionStats;
  trace: string;
  /** Gets the coordinator's hot-key cache answered (scenario.hotKeyCache). */
  hotKeyCacheHits: number;
  /** Leader-ordered one-key reads answered in place, without an operation (readPath 'direct'). */
  orderedReadsInPlace: number;
}

const Stream = { NETWORK: 0, CLIENTS: 1, FAULTS: 2, ORDERED: 3, TRANSACTIONS: 4, BATCHES: 5, NODES: 100 } as const;
const EVENTS_PENDING_MAX = 1 << 20;
const DRAIN_EVENTS_MAX = 200_000;
const CONTEXTS_KEPT = 4;
/**
 * Microtask turns after each event while a putMany is under way: well over
 * what its settling takes (with 2, seeds 0-119 ran the same traces as with a
 * turn of the event loop after each event).
 */
const BATCH_CONTINUATION_TURNS = 8;
const WALL_CLOCK_ORIGIN_MS = 1_700_000_000_000;
const NODE_IDS_MAX = 1024;
/** Store.removeNode's wait for the leaving node's hints to drain (store.ts HINTS_DRAIN_WAIT_MS). */
const HINTS_DRAIN_WAIT_MS = 10_000;
/** The ordered range keys: partitioned keys of one partition of this space (the tables layer's item keys are such keys). */
const RANGE_SPACE = 7;
const RANGE_PARTITION = new TextEncoder().encode('rp');
/** More than the scenario's range keys, so a range page is complete. */
const RANGE_LIMIT = 100;

export async function runSeed(seed: number, scenario: Scenario, options: RunOptions = {}): Promise<RunResult> {
  const run = new Run(seed, scenario, options);
  let failures: Failure[];
  try {
    failures = await run.execute();
  } catch (error) {
    // An assertion inside the core (or the simulation) is a finding with a seed, not a crash of the runner.
    failures = [{ kind: 'invariant', message: `threw at ${run.queue.nowMs.toFixed(2)}ms: ${(error as Error).stack ?? String(error)}` }];
  }
  const transactions = run.transactionStats();
  return { seed, scenario: scenario.name, failures: [...run.invariants, ...failures], stats: run.stats(), ...(transactions === undefined ? {} : { transactions }), trace: run.trace.text(), hotKeyCacheHits: run.coordinator.stats().hotKeyCache?.hits ?? 0, orderedReadsInPlace: run.coordinator.orderedReadsInPlace };
}

class Run implements World {
  readonly queue = new EventQueue(EVENTS_PENDING_MAX);
  readonly trace: Trace;
  readonly network: SimNetwork;
  readonly coordinator: Coordinator;
  readonly host: SimHost;
  readonly nodes = new Map<number, SimNode>();
  readonly history = new History();
  readonly ordered = new OrderedHistory((key) => orderedKeyBytes(key));
  readonly n: number;
  readonly retryMs: number;
  readonly invariants: Failure[] = [];
  private readonly scenario: Scenario;
  private readonly seed: number;
  private readonly bugs: Bugs;
  private readonly clientPrng: Prng;
  private readonly faultPrng: Prng;
  private readonly orderedPrng: Prng;
  /** putMany's draws (whether a put is one, its items): a stream of its own, so that without putMany a seed runs as before. */
  private readonly batchPrng: Prng;
  /** The options putManyItems checks a batch's entries against (the store's, for this scenario). */
  private readonly storeOptions: ResolvedOptions;
  private batches = 0;
  /** putMany calls whose promise has not settled: the run yields a turn after each event meanwhile (pause). */
  private batchesInFlight = 0;
  private races = 0;
  private readonly keys: string[];
  private readonly hotKeys: string[];
  /** Per client, per key: contexts it has seen (from reads and its own writes), newest last. */
  private readonly contexts: Map<string, CausalContext[]>[] = [];
  /** Bumped at every crash and restart: a detection scheduled for an older life does nothing. */
  private readonly lives = new Map<number, number>();
  /** The membership change under way: when it started. */
  private change: { startedMs: number } | undefined;
  /** Requests of membership changes still waiting for an answer (one may outlive its change's failure). */
  private changeRequests = 0;
  private nextNodeId: number;
  private counts = { crashes: 0, partitions: 0, membershipChanges: 0, membershipChangesFailed: 0, siblingReads: 0 };
  private partitionActive = false;
  /** Why the coordinator holds a node down: its exit was noticed, or its heartbeat went silent. */
  private readonly downReasons = new Map<number, 'crashed' | 'heartbeat'>();
  /** When each node's heartbeats stopped reaching the coordinator (a partition). */
  private readonly silentSince = new Map<number, number>();
  /** Start of the current degraded window (a node down or hints held), under sloppy quorum. */
  private degradedSinceMs: number | undefined;
  private watchArmed = false;
  private entryTimestampsDiffer = 0;
  /** Scenario 'transactions': the database processes and their clients. */
  private transactions: TransactionWorkload | undefined;

  constructor(seed: number, scenario: Scenario, options: RunOptions) {
    this.seed = seed;
    this.scenario = scenario;
    this.bugs = options.bugs ?? {};
    this.n = scenario.n;
    this.retryMs = Math.max(5, scenario.timeoutMs / 2);
    this.trace = new Trace(options.trace === true, () => this.queue.nowMs);
    this.network = new SimNetwork(scenario.network, deriveSeed(seed, Stream.NETWORK), this.queue);
    this.clientPrng = new Prng(deriveSeed(seed, Stream.CLIENTS));
    this.faultPrng = new Prng(deriveSeed(seed, Stream.FAULTS));
    this.orderedPrng = new Prng(deriveSeed(seed, Stream.ORDERED));
    this.batchPrng = new Prng(deriveSeed(seed, Stream.BATCHES));
    this.storeOptions = resolveOptions({ path: 'simulation', nodes: scenario.nodes, replication: { n: scenario.n }, conflicts: scenario.conflicts });
    const ids = Array.from({ length: scenario.nodes }, (_, i) => i);
    this.nextNodeId = scenario.nodes;
    for (const id of ids) this.addNode(id);
    this.host = new SimHost({ timeoutMs: scenario.timeoutMs, wallClockOriginMs: WALL_CLOCK_ORIGIN_MS, mintAnswerAcks: this.bugs.mintAnswerAcks === true }, this.queue, this.trace, this.nodes, {
      transmit: (node, frame) => this.network.send(node, frame, true, (arrived) => this.nodes.get(node)?.receive(arrived), this.dropLogger(node, 'request')),
      onPutSent: (requestId, value, flags) => this.history.putSent(requestId, value, (flags & RequestFlag.MINT_ONLY) !== 0),
      onReplicateSent: (requestId, key, object) => this.history.replicateSent(requestId, key, object),
      onInvariant: (error) => this.invariants.push({ kind: 'invariant', message: `at ${this.queue.nowMs.toFixed(2)}ms: ${(error as Error).stack ?? String(error)}` }),
      isCut: (node) => this.network.isCut(node),
    });
    for (const id of ids) this.host.link(id);
    this.coordinator = new Coordinator(
      {
        n: scenario.n,
        sloppy: scenario.sloppy,
        readFanout: scenario.readFanout,
        readPath: scenario.readPath ?? 'messages',
        ...(scenario.readBalance === undefined ? {} : { readBalance: scenario.readBalance }),
        ...(scenario.hotKeyCache === undefined ? {} : { hotKeyCache: scenario.hotKeyCache }),
        timeoutMs: scenario.timeoutMs,
        // Clients await each call: admission never refuses them here.
        pendingMax: 1 << 20,
        pendingBytesMax: 2 ** 42,
        tombstoneGraceMs: scenario.tombstoneGraceMs,
        resolve: undefined,
        handoffKeysPerSecond: scenario.handoffKeysPerSecond,
        // Odd seeds send writes in envelopes, as the store does; even seeds
        // alone. The planted node bugs, and ack-mint, act on single frames: none with them.
        writeEnvelopes: (seed & 1) === 1 && this.bugs.node === undefined && this.bugs.mintAnswerAcks !== true,
        ownershipHandoff: this.bugs.strandForeign !== true,
        // As store.ts: in 'lww' putMany's versions are minted here, under a writer epoch of this run's.
        conflicts: scenario.conflicts,
        writerEpoch: writerEpochOf(this.batchPrng.nextBelow(2 ** 30)),
      },
      Ring.create(ids, scenario.vnodes),
      this.host,
    );
    if (this.bugs.serveUncommitted === true) {
      this.coordinator.commitGate = () => ({ action: 'serve' });
      this.coordinator.writtenSince = () => false; // nor is a read that a later write overtook read again
    }
    if (this.bugs.inPlaceIgnoresDoubt === true) this.coordinator.uncommitted.tracks = () => false;
    const w = scenario.workload;
    this.hotKeys = Array.from({ length: w.hotKeys }, (_, i) => `hot${i}`);
    this.keys = [...this.hotKeys, ...Array.from({ length: w.coldKeys }, (_, i) => `k${i}`)];
    if (scenario.transactions !== undefined) {
      this.transactions = new TransactionWorkload(scenario.transactions, this.queue, this.host, () => simTableEngine(this.coordinator, this.host, Math.min(2, this.n)), new Prng(deriveSeed(seed, Stream.TRANSACTIONS)), scenario.chaosMs, this.trace, this.bugs.transactions);
    }
  }

  private addNode(id: number): SimNode {
    const scenario = this.scenario;
    const config = { nodeId: id, objectBytesMax: 1 << 20, conflicts: this.bugs.replicaConflicts ?? scenario.conflicts, clockEntriesMax: Math.max(10, scenario.nodes + scenario.faults.membershipChangesMax) };
    // As resolveOptions: never below the nodes that can coordinate. Fresh actor epochs still add entries (actor.ts); truncation's age guard keeps them within a run.
    const node = new SimNode(
      id,
      config,
      this.queue,
      deriveSeed(this.seed, Stream.NODES + id),
      scenario.timing,
      (from, frame) => this.network.send(from, frame, false, (arrived) => this.host.receive(from, arrived), this.dropLogger(from, 'response')),
      (from, op, status, requestId, payload) => {
        if (op === Op.ORDERED_WRITE && status === Status.OK && payload !== undefined && scenario.ordered !== undefined) this.ordered.leaderApplied(decodeKeyedObjects(copyBytes(payload)).object); // every ordered write is multi-key: the first key's object
        if (op === Op.PUT && status === Status.OK && payload !== undefined) {
          this.history.putApplied(requestId, from, decodeObject(copyBytes(payload)), this.queue.nowMs);
        }
        if (op === Op.REPLICATE && status === Status.OK) this.history.replicateApplied(requestId, from, this.queue.nowMs);
        if (op === Op.WRITE_BATCH && (status === Status.OK || status === Status.PARTIAL) && payload !== undefined) {
          const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
          forEachEnvelopeItem(view, 0, payload.byteLength, false, (at, length) => {
            if (view.getUint8(at + Response.STATUS) !== Status.OK) return;
            const index = view.getUint32(at + Response.REQUEST_ID, true);
            if (view.getUint8(at + Response.OP) === Op.REPLICATE) this.history.replicateApplied(envelopeItemId(requestId, index), from, this.queue.nowMs);
            if (view.getUint8(at + Response.OP) !== Op.PUT) return;
            const object = decodeObject(copyBytes(payload, at + Response.HEADER_BYTES, at + length));
            this.history.putApplied(envelopeItemId(requestId, index), from, object, this.queue.nowMs);
          });
        }
      },
      this.bugs.storage,
      this.bugs.node,
    );
    this.nodes.set(id, node);
    this.lives.set(id, 0);
    return node;
  }

  private dropLogger(node: number, what: string): ((why: string) => void) | undefined {
    if (!this.trace.enabled) return undefined;
    return (why) => this.trace.log(`network: ${what} of n${node} ${why}`);
  }

  async execute(): Promise<Failure[]> {
    const scenario = this.scenario;
    if (this.trace.enabled) this.trace.log(`seed ${this.seed}, scenario ${scenario.name}: ${scenario.nodes} nodes, N=${scenario.n}, conflicts ${scenario.conflicts}, timeout ${scenario.timeoutMs}ms`);
    if (this.transactions !== undefined) {
      await this.settle(this.transactions.setup());
      this.transactions.start();
    }
    for (let client = 0; client < scenario.workload.clients; client++) {
      this.contexts.push(new Map());
      this.queue.after(this.uniform(this.clientPrng, 0, scenario.workload.thinkMaxMs), () => this.clientStep(client));
    }
    this.queue.after(this.uniform(this.faultPrng, 0, 2 * scenario.faults.meanGapMs), () => this.faultStep());
    if (scenario.ordered !== undefined) {
      for (let client = 0; client < scenario.ordered.clients; client++) this.queue.after(this.uniform(this.orderedPrng, 0, scenario.ordered.thinkMaxMs), () => this.orderedStep(client));
      this.queue.after(scenario.ordered.raceEveryMs, () => this.raceStep());
    }
    this.armWatch();
    await this.queue.runUntilAsync(scenario.chaosMs, this.pause);
    this.transactions?.stop();
    this.heal();
    await this.queue.drainAsync(DRAIN_EVENTS_MAX, this.pause);
    this.sweepAll();
    await this.queue.drainAsync(DRAIN_EVENTS_MAX, this.pause);
    const transactionState = this.transactions === undefined ? undefined : await this.transactions.recoverAndRead((promise) => this.settle(promise));
    this.repair();
    await this.queue.drainAsync(DRAIN_EVENTS_MAX, this.pause);
    this.finalReads();
    await this.queue.drainAsync(DRAIN_EVENTS_MAX, this.pause);
    this.repair();
    await this.queue.drainAsync(DRAIN_EVENTS_MAX, this.pause);
    if (this.change !== undefined) this.invariants.push({ kind: 'invariant', message: 'a membership handoff never finished' });
    this.invariants.push(...this.undeliveredHints());
    this.closeDegradedWindow();
    const engines = new Map(this.coordinator.ring.nodeIds().map((id) => [id, this.nodes.get(id)!.engine] as const));
    const checkContext = { history: this.history, ring: this.coordinator.ring, n: this.n, conflicts: scenario.conflicts, engines };
    const failures = checkAll(checkContext);
    failures.push(...this.ordered.check(this.coordinator.ring, this.n, engines));
    if (transactionState !== undefined) failures.push(...this.transactions!.history.check(transactionState));
    this.entryTimestampsDiffer = entryTimestampsDiffer(checkContext);
    for (const failure of failures) this.trace.log(`FAILED ${failure.kind}: ${failure.message}`);
    return failures;
  }

  /**
   * The membership change is promise-based code (lib/store/membership-change.ts):
   * while one runs, or its requests are out, each event is followed by a turn
   * of the real event loop in which its continuations run.
   */
  private readonly pause = (): Promise<void> | undefined => {
    // The transaction protocol is promise-based throughout: its continuations run after every event.
    if (this.transactions !== undefined) return new Promise((resolve) => setImmediate(resolve));
    // Leader catch-ups are promise-based too (lib/store/leader-election.ts).
    if (this.change !== undefined || this.changeRequests > 0 || this.coordinator.electionsInFlight > 0) return new Promise((resolve) => setImmediate(resolve));
    // So is putMany (Coordinator.putMany), but its continuations are promise
    // reactions alone: a few microtask turns run them (a turn of the event
    // loop after every event made the seeds half as fast again).
    return this.batchesInFlight > 0 ? microtaskTurns(BATCH_CONTINUATION_TURNS) : undefined;
  };

  /** Runs the simulation until `promise` settles (the healed cluster answers every call); a call that never settles is a livelock. */
  private async settle<T>(promise: Promise<T>): Promise<T> {
    let settled = false;
    promise.then(
      () => (settled = true),
      () => (settled = true),
    );
    while (!settled) {
      await this.queue.drainAsync(DRAIN_EVENTS_MAX, this.pause);
      await new Promise((resolve) => setImmediate(resolve));
      if (!settled && this.queue.size === 0) throw new Error('a transaction call never settled, with nothing left to run');
    }
    return promise;
  }

  /** As each anti-entropy pass of the store: every node hands over what it holds outside its ranges (ownership-handoff.ts). */
  private sweepAll(): void {
    if (this.trace.enabled) this.trace.log('ownership handoff: every node swept');
    this.coordinator.oweSweepAll();
    this.armWatch();
  }

  private repair(): void {
    const pushes = repairAll(this);
    if (this.trace.enabled) this.trace.log(`anti-entropy: ${pushes} pushes`);
  }

  // ---- leader-ordered clients (DESIGN.md §3) -------------------------------------

  private orderedStep(client: number): void {
    const w = this.scenario.ordered!;
    if (this.queue.nowMs >= this.scenario.chaosMs) return;
    const prng = this.orderedPrng;
    const index = prng.nextBelow(w.keys + w.rangeKeys);
    const key = index < w.keys ? `ok${index}` : `rk${index - w.keys}`;
    const next = () => this.queue.after(this.uniform(prng, w.thinkMinMs, w.thinkMaxMs), () => this.orderedStep(client));
    const kind = this.weighted(prng, w.mix);
    if (kind === 'rangeRead') return this.orderedRangeRead(client, next);
    if (kind === 'read' || kind === 'eventualRead') return this.orderedRead(client, key, kind === 'read', next);
    if (kind !== 'cas') return this.orderedWrite(client, key, kind === 'delete', 'none', -1, next);
    // Read-then-compare-and-set, as the tables layer's conditional writes do.
    this.orderedRead(client, key, true, (version) => this.orderedWrite(client, key, false, version === undefined ? 'none' : version === 0 ? 'absent' : version, -1, next));
  }

  /** A new key, and `racers` clients creating it at the same instant, each expecting 'absent'. */
  private raceStep(): void {
    const w = this.scenario.ordered!;
    if (this.queue.nowMs >= this.scenario.chaosMs) return;
    const race = this.races++;
    for (let i = 0; i < w.racers; i++) this.orderedWrite(-1 - i, `race${race}`, false, 'absent', race, () => {});
    this.queue.after(w.raceEveryMs, () => this.raceStep());
  }

  private orderedWrite(client: number, key: string, tombstone: boolean, expect: 'none' | 'absent' | number, race: number, next: () => void): void {
    const value = `o${this.ordered.writes.length}`;
    const write = this.ordered.invokeWrite({ client, key, value, tombstone, expect, race, invokedMs: this.queue.nowMs });
    if (this.trace.enabled) this.trace.log(`client o${client}: ordered ${tombstone ? 'delete' : 'write'} #${write.id} ${key}=${value} expect ${expect}`);
    const wireKey = orderedWireKey(key);
    const request = {
      key: wireKey,
      partition: this.coordinator.orderedPlacement(wireKey).partition,
      // A delete carries its value too, so the oracle can tell which write a tombstone is.
      value: encodeValue(value, 1024),
      tombstone,
      expect: expect === 'none' ? ExpectKind.NONE : expect === 'absent' ? ExpectKind.ABSENT : ExpectKind.VERSION,
      expectVersion: typeof expect === 'number' ? expect : 0,
      timestampMs: this.coordinator.nowMs(),
      expiresAtMs: 0,
      // Every ordered write is a multi-key write: its companion carries the same value (checker (d)).
      also: [{ key: companionKey(key), flags: 0, value: encodeValue(value, 1024) }],
    };
    const invokedMs = this.queue.nowMs;
    this.coordinator.startOrderedWrite(request, Math.min(2, this.n), (error, objectBytes) => {
      write.completedMs = this.queue.nowMs;
      write.outcome = error === undefined ? 'ok' : error.code === 'ERR_CONFLICT' ? 'conflict' : 'error';
      // A compare-and-set's verdict shows the leader's current version: checker (e) holds it to what later reads return.
      const current = error?.code === 'ERR_CONFLICT' ? (error.details as { current?: string } | undefined)?.current : undefined;
      if (current !== undefined && current !== 'absent') this.ordered.observedByVerdict(client, key, invokedMs, write.completedMs, Number(current));
      if (objectBytes !== undefined) write.version = orderedEntryOf(decodeObject(objectBytes))!.version;
      if (this.trace.enabled) this.trace.log(`client o${client}: ordered #${write.id} ${key} -> ${error === undefined ? `version ${write.version}` : error.code}`);
      next();
    });
  }

  /** `next` gets the version read (0: absent), or undefined if the read failed. */
  private orderedRead(client: number, key: string, consistent: boolean, next: (version: number | undefined) => void): void {
    const read = consistent ? this.ordered.invokeRead({ client, key, invokedMs: this.queue.nowMs, via: 'get' }) : undefined;
    this.coordinator.startOrderedRead('get', orderedWireKey(key), undefined, consistent, (error, status, payload) => {
      const entry = error === undefined && status === Status.OK ? orderedEntryOf(decodeObject(payload!)) : undefined;
      const live = entry !== undefined && !entry.sibling.tombstone;
      const version = error !== undefined ? undefined : live ? entry.version : 0;
      if (read !== undefined) {
        read.completedMs = this.queue.nowMs;
        read.outcome = error === undefined ? 'ok' : 'error';
        read.version = version ?? 0;
        read.value = live ? String(decodeValue(entry.sibling.value)) : undefined;
        read.seenVersion = entry?.version ?? 0;
      }
      if (this.trace.enabled) this.trace.log(`client o${client}: ${consistent ? 'consistent' : 'eventual'} read ${key} -> ${error === undefined ? (live ? `${String(decodeValue(entry.sibling.value))} at ${entry.version}` : 'absent') : error.code}`);
      next(version);
    });
  }

  /**
   * A consistent range read of the range keys' whole partition (Query's one
   * range read, DESIGN.md §2): a read of every range key, at the version the
   * page lists it, or absent when a complete page leaves it out.
   */
  private orderedRangeRead(client: number, next: () => void): void {
    const names = Array.from({ length: this.scenario.ordered!.rangeKeys }, (_, i) => `rk${i}`);
    const reads = names.map((key) => this.ordered.invokeRead({ client, key, invokedMs: this.queue.nowMs, via: 'range' }));
    const start = partitionedKey(RANGE_SPACE, RANGE_PARTITION);
    const end = new Uint8Array(start.byteLength + 1);
    end.set(start);
    end[start.byteLength] = 0xff;
    this.coordinator.startOrderedRead('range', start, encodeRangePayload(RANGE_LIMIT, 1 << 20, false, end), true, (error, status, payload) => {
      const page = error === undefined && status === Status.OK ? decodeRangePage(payload!, 0, payload!.byteLength) : undefined;
      const listed = new Map<string, { version: number; value: string | undefined; seenVersion: number }>();
      for (const entry of page?.entries ?? []) {
        const ordered = orderedEntryOf(decodeObject(entry.object));
        const name = names.find((key) => Buffer.from(orderedKeyBytes(key)).equals(Buffer.from(entry.key)));
        if (ordered === undefined || name === undefined) continue;
        listed.set(name, ordered.sibling.tombstone ? { version: 0, value: undefined, seenVersion: ordered.version } : { version: ordered.version, value: String(decodeValue(ordered.sibling.value)), seenVersion: ordered.version });
      }
      for (const read of reads) {
        read.completedMs = this.queue.nowMs;
        const seen = listed.get(read.key);
        // A key after the last entry of an incomplete page was not observed.
        read.outcome = page === undefined || (page.more && seen === undefined) ? 'error' : 'ok';
        read.version = seen?.version ?? 0;
        read.value = seen?.value;
        read.seenVersion = seen?.seenVersion ?? 0;
      }
      if (this.trace.enabled) this.trace.log(`client o${client}: consistent range read -> ${page === undefined ? (error?.code ?? `status ${status}`) : [...listed].map(([key, seen]) => `${key}=${seen.value ?? 'deleted'} at ${seen.version}`).join(', ') || 'empty'}`);
      next();
    }, hashKey32(start));
  }

  // ---- clients ------------------------------------------------------------------

  private clientStep(client: number): void {
    if (this.queue.nowMs >= this.scenario.chaosMs) return;
    const w = this.scenario.workload;
    const prng = this.clientPrng;
    const key = this.chance(prng, w.hotProbability) ? this.pick(prng, this.hotKeys) : this.pick(prng, this.keys.slice(w.hotKeys));
    const quorum = this.pick(prng, w.quorums);
    const next = () => this.queue.after(this.uniform(prng, w.thinkMinMs, w.thinkMaxMs), () => this.clientStep(client));
    const kind = this.weighted(prng, w.mix);
    if (kind === 'get') return this.clientGet(client, key, quorum.r, false, next);
    const known = this.contexts[client]!.get(key) ?? [];
    let context: CausalContext | undefined;
    if (kind !== 'putBlind' && known.length > 0) {
      context = this.chance(prng, w.staleContextProbability) ? this.pick(prng, known) : known[known.length - 1];
    }
    if (kind !== 'delete' && w.putManyProbability > 0 && this.chance(this.batchPrng, w.putManyProbability)) return this.clientPutMany(client, key, context, quorum.w, next);
    this.clientWrite(client, key, kind === 'delete', context, quorum.w, next);
  }

  /**
   * A putMany (Store.putMany's items through Coordinator.putMany, as
   * client-requests.ts sends them): the drawn put is its first item; 1 to
   * putManyItemsMax - 1 more over the hot and cold keys (a key may come
   * twice), each blind or with a context the client knows, as a put's.
   * putMany answers the batch as a whole: each item is acknowledged when it
   * resolves, and none when it rejects (the client cannot tell which landed).
   */
  private clientPutMany(client: number, key: string, context: CausalContext | undefined, w: number, next: () => void): void {
    const workload = this.scenario.workload;
    const prng = this.batchPrng;
    const batch = this.batches++;
    const writes: WriteRecord[] = [];
    const entries: PutManyEntry[] = [];
    const count = 2 + prng.nextBelow(workload.putManyItemsMax - 1);
    for (let item = 0; item < count; item++) {
      const itemKey = item === 0 ? key : this.chance(prng, workload.hotProbability) ? this.pick(prng, this.hotKeys) : this.pick(prng, this.keys.slice(workload.hotKeys));
      const itemContext = item === 0 ? context : this.itemContext(client, itemKey);
      const value = `w${this.history.writes.length}`;
      const valueBytes = encodeValue(value, 1024);
      writes.push(this.history.invokeWrite({ client, key: itemKey, value, valueBytes, tombstone: false, blind: itemContext === undefined, context: itemContext, w, batch, timestampMs: 0, invokedMs: this.queue.nowMs, ackedDot: undefined }));
      // An entry's own options replace the call's (put-many-items.ts writeQuorumFor): with a context, its W too.
      entries.push(itemContext === undefined ? [itemKey, value] : [itemKey, value, { context: encodeContext(itemContext), w }]);
    }
    const items = putManyItems(entries, { w }, this.storeOptions, this.coordinator, this.coordinator.putManyWriter, this.coordinator.slabChunks);
    for (let item = 0; item < count; item++) writes[item]!.timestampMs = items.timestampsMs[item]!;
    if (this.trace.enabled) this.trace.log(`client ${client}: putMany ${writes.map((write) => `#${write.id} ${write.key}=${write.value}${write.context === undefined ? ' blind' : ` context ${JSON.stringify(write.context)}`}`).join(', ')} W=${w}`);
    this.batchesInFlight++;
    const settled = (error: { code?: string } | undefined): void => {
      this.batchesInFlight--;
      for (const write of writes) {
        write.completedMs = this.queue.nowMs;
        write.outcome = error === undefined ? 'ok' : 'error';
        write.error = error === undefined ? undefined : (error.code ?? 'unknown');
        // The coordination the batch replicated: a retried item's first mint took effect only if stored, and earlier.
        if (error === undefined) write.ackedDot = write.effects[write.effects.length - 1]?.dot;
      }
      if (this.trace.enabled) this.trace.log(`client ${client}: putMany ${writes.map((write) => `#${write.id}`).join(', ')} -> ${error === undefined ? 'ok' : (error.code ?? 'error')}`);
      next();
    };
    this.coordinator.putMany(items).then(() => settled(undefined), (error: { code?: string }) => settled(error));
  }

  /** A putMany item's context, drawn as a put's: none (blind) or one the client knows, sometimes an older one. */
  private itemContext(client: number, key: string): CausalContext | undefined {
    const w = this.scenario.workload;
    const prng = this.batchPrng;
    const known = this.contexts[client]!.get(key) ?? [];
    if (known.length === 0 || this.chance(prng, w.mix.putBlind / (w.mix.putBlind + w.mix.putWithContext))) return undefined;
    return this.chance(prng, w.staleContextProbability) ? this.pick(prng, known) : known[known.length - 1];
  }

  private clientGet(client: number, key: string, r: number, final: boolean, next: () => void): void {
    const read = this.history.invokeRead({ client, key, r, invokedMs: this.queue.nowMs, final });
    if (this.trace.enabled) this.trace.log(`client ${client}: get #${read.id} ${key} R=${r}${final ? ' (final)' : ''}`);
    const answered: GetCallback = (error, result) => {
      read.completedMs = this.queue.nowMs;
      read.outcome = error === undefined ? 'ok' : 'error';
      if (result !== undefined) {
        read.values = result.siblings.map((value) => String(value));
        if (read.values.length > 1) this.counts.siblingReads++;
        this.remember(client, key, decodeContext(result.context));
      }
      if (this.trace.enabled) this.trace.log(`client ${client}: get #${read.id} ${key} -> ${error === undefined ? `[${read.values.join(', ')}]` : error.code}`);
      next();
    };
    // As Store.get: answered in place when the coordinator can (lib/store/in-place-get.ts, agreeing-in-place-get.ts), else started.
    const now = this.coordinator.getInPlace(key, final ? CacheUse.NONE : CacheUse.LOOK_UP, r);
    if (now === NOT_IN_PLACE || now === LATER) this.coordinator.startGet(key, r, answered, 0, !final);
    else answered(undefined, now, 0);
  }

  private clientWrite(client: number, key: string, tombstone: boolean, context: CausalContext | undefined, w: number, next: () => void): void {
    const id = this.history.writes.length;
    const value = `w${id}`;
    const valueBytes = encodeValue(value, 1024);
    const write = this.history.invokeWrite({ client, key, value, valueBytes, tombstone, blind: context === undefined, context, w, batch: -1, timestampMs: 0, invokedMs: this.queue.nowMs, ackedDot: undefined });
    if (this.trace.enabled) this.trace.log(`client ${client}: ${tombstone ? 'delete' : 'put'} #${id} ${key}=${value} W=${w}${context === undefined ? ' blind' : ` context ${JSON.stringify(context)}`}`);
    const request: PutRequest = {
      op: Op.PUT,
      key,
      flags: (tombstone ? RequestFlag.TOMBSTONE : 0) | (context === undefined ? RequestFlag.BLIND : 0),
      context,
      value: valueBytes,
      timestampMs: this.coordinator.nowMs(),
      expiresAtMs: 0,
    };
    write.timestampMs = request.timestampMs;
    this.coordinator.startPut(request, w, (error, objectBytes) => {
      write.completedMs = this.queue.nowMs;
      write.outcome = error === undefined ? 'ok' : 'error';
      write.error = error?.code;
      // As Store.put returns it: the context of the new version, for the next write.
      if (error === undefined && objectBytes !== undefined) {
        const object = decodeObject(copyBytes(objectBytes));
        write.ackedDot = ackedDotOf(write, object);
        this.remember(client, key, join(object));
      }
      if (this.trace.enabled) this.trace.log(`client ${client}: ${tombstone ? 'delete' : 'put'} #${id} ${key} -> ${error === undefined ? 'ok' : error.code}`);
      next();
    }, 0);
  }

  private remember(client: number, key: string, context: CausalContext): void {
    if (client < 0) return;
    const known = this.contexts[client]!;
    const list = known.get(key) ?? [];
    list.push(context);
    if (list.length > CONTEXTS_KEPT) list.shift();
    known.set(key, list);
  }

  private finalReads(): void {
    if (this.trace.enabled) this.trace.log('final reads, R = N');
    for (const key of this.keys) this.clientGet(-1, key, this.n, true, () => {});
  }

  // ---- faults ---------------------------------------------------------------------

  private faultStep(): void {
    const f = this.scenario.faults;
    if (this.queue.nowMs >= this.scenario.chaosMs) return;
    const prng = this.faultPrng;
    this.queue.after(this.uniform(prng, 0, 2 * f.meanGapMs), () => this.faultStep());
    const kind = this.weighted(prng, f.weights);
    if (kind === 'crash') this.crashOne();
    else if (kind === 'partition') this.partitionSome();
    else if (kind === 'join') this.join();
    else if (kind === 'leave') this.leave();
  }

  private crashOne(): void {
    const f = this.scenario.faults;
    const prng = this.faultPrng;
    const up = [...this.nodes.values()].filter((node) => node.isUp);
    if (this.nodes.size - up.length >= f.downMax || up.length === 0) return;
    const node = this.pick(prng, up);
    node.crash();
    this.counts.crashes++;
    const life = this.bumpLife(node.id);
    if (this.trace.enabled) this.trace.log(`fault: n${node.id} crashes`);
    this.queue.after(this.uniform(prng, f.detectMinMs, f.detectMaxMs), () => {
      if (this.lives.get(node.id) !== life || !this.nodes.has(node.id)) return;
      this.markDown(node.id, 'crashed');
    });
    this.queue.after(this.uniform(prng, f.restartMinMs, f.restartMaxMs), () => this.restart(node.id, life));
  }

  private restart(id: number, life: number): void {
    if (this.lives.get(id) !== life) return;
    const node = this.nodes.get(id);
    if (node === undefined) return;
    node.restart();
    this.bumpLife(id);
    if (this.trace.enabled) this.trace.log(`fault: n${id} restarts`);
    // store.ts startNode: up again at once; a node still cut off falls silent again from now.
    if (this.silentSince.has(id)) this.silentSince.set(id, this.queue.nowMs);
    if (this.downReasons.get(id) === 'crashed') this.markUp(id);
    // store.ts startNode: every start owes an ownership sweep (it may have been down through a change).
    if (this.coordinator.ring.nodeIds().includes(id)) this.coordinator.nodeStarted(id);
    this.armWatch();
  }

  private markDown(id: number, reason: 'crashed' | 'heartbeat'): void {
    if (this.downReasons.get(id) === 'crashed') return;
    const wasUp = !this.downReasons.has(id);
    this.downReasons.set(id, reason);
    if (!wasUp) return;
    if (this.trace.enabled) this.trace.log(`coordinator marks n${id} down (${reason})`);
    if (this.scenario.sloppy && this.degradedSinceMs === undefined) this.degradedSinceMs = this.queue.nowMs;
    this.host.markDown(id);
    this.armWatch();
  }

  private markUp(id: number): void {
    if (!this.downReasons.delete(id)) return;
    if (this.trace.enabled) this.trace.log(`coordinator marks n${id} up`);
    this.host.markUp(id);
    this.coordinator.tickHandoffs(this.queue.nowMs);
  }

  /**
   * store.ts watchNodes on the virtual clock: a node whose heartbeats stop
   * (cut off) is marked down after failureTimeoutMs and up once they resume;
   * hinted handoff is paced on the same tick. It runs while there is
   * anything to watch for, so that a healed run drains.
   */
  private armWatch(): void {
    if (this.watchArmed) return;
    this.watchArmed = true;
    const intervalMs = Math.max(10, Math.min(100, Math.floor(this.scenario.failureTimeoutMs / 4)));
    this.queue.after(intervalMs, () => {
      this.watchArmed = false;
      const nowMs = this.queue.nowMs;
      for (const id of [...this.nodes.keys()].sort((a, b) => a - b)) {
        const silentSinceMs = this.silentSince.get(id);
        if (silentSinceMs !== undefined && this.nodes.get(id)!.isUp && nowMs - silentSinceMs > this.scenario.failureTimeoutMs) this.markDown(id, 'heartbeat');
        if (silentSinceMs === undefined && this.downReasons.get(id) === 'heartbeat') this.markUp(id);
      }
      this.coordinator.tickHandoffs(nowMs);
      const hintsHeld = this.hintsHeld();
      // Over once every node is up, every hint handed back, and no operation routed to a stand-in can still write one.
      const standInsQuiet = nowMs - this.host.lastHintedRouteMs > this.settleMs();
      if (this.degradedSinceMs !== undefined && this.downReasons.size === 0 && hintsHeld === 0 && standInsQuiet) this.closeDegradedWindow();
      // store.ts ticks for ever; here the tick stops once nothing can need it, so that a healed run drains.
      const busy = this.downReasons.size > 0 || this.silentSince.size > 0 || hintsHeld > 0 || this.coordinator.handoff.active > 0 || this.coordinator.ownership.pending || this.degradedSinceMs !== undefined || this.coordinator.activeCount > 0 || this.host.pendingCount > 0;
      if (nowMs < this.scenario.chaosMs || busy) this.armWatch();
    });
  }

  /**
   * Hints held for nodes of the ring, as committed (a crashed holder's count
   * too): what handoff can still deliver. Hints for a node that left are
   * never delivered; undeliveredHints reports them.
   */
  private hintsHeld(): number {
    const members = new Set([...this.coordinator.ring.nodeIds(), ...this.host.retired]);
    let count = 0;
    for (const node of this.nodes.values()) for (const [owner, held] of node.engine.hintCounts()) if (members.has(owner)) count += held;
    return count;
  }

  /** Hints `holder` keeps for others, as committed. */
  private hintsHeldBy(holder: number): number {
    let count = 0;
    for (const held of this.nodes.get(holder)?.engine.hintCounts().values() ?? []) count += held;
    return count;
  }

  private hintsHeldFor(owner: number): number {
    let count = 0;
    for (const node of this.nodes.values()) count += node.engine.hintCounts().get(owner) ?? 0;
    return count;
  }

  /** Sloppy quorum trades R + W > N for availability while degraded: reads overlapping that time are exempt. */
  private closeDegradedWindow(): void {
    if (this.degradedSinceMs === undefined) return;
    this.history.exemptWindows.push([this.degradedSinceMs, this.queue.nowMs]);
    if (this.trace.enabled) this.trace.log(`degraded since ${this.degradedSinceMs.toFixed(2)}ms ends: every node up, every hint handed back`);
    this.degradedSinceMs = undefined;
  }

  private undeliveredHints(): Failure[] {
    const failures: Failure[] = [];
    for (const node of [...this.nodes.values()].sort((a, b) => a.id - b.id)) {
      for (const owner of node.engine.hintOwners()) {
        const inRing = this.coordinator.ring.nodeIds().includes(owner);
        failures.push({
          kind: 'lost-write',
          message: `after healing, n${node.id} still holds hints for n${owner}${inRing ? '' : ' (a node that left the ring)'}: ${node.engine.hintKeys(owner).join(', ')}`,
        });
      }
    }
    return failures;
  }

  private bumpLife(id: number): number {
    const life = (this.lives.get(id) ?? 0) + 1;
    this.lives.set(id, life);
    return life;
  }

  private partitionSome(): void {
    const f = this.scenario.faults;
    const prng = this.faultPrng;
    if (this.partitionActive) return;
    const candidates = [...this.nodes.keys()].sort((a, b) => a - b);
    const count = 1 + prng.nextBelow(Math.min(f.partitionNodesMax, candidates.length));
    const cut: number[] = [];
    while (cut.length < count) {
      const node = this.pick(prng, candidates);
      if (!cut.includes(node)) cut.push(node);
    }
    this.network.partition(cut);
    for (const id of cut) this.silentSince.set(id, this.queue.nowMs);
    this.armWatch();
    this.partitionActive = true;
    this.counts.partitions++;
    if (this.trace.enabled) this.trace.log(`fault: partition cuts off ${cut.map((id) => `n${id}`).join(', ')}`);
    this.queue.after(this.uniform(prng, f.partitionMinMs, f.partitionMaxMs), () => {
      if (!this.partitionActive) return;
      this.network.heal();
      this.silentSince.clear();
      this.partitionActive = false;
      if (this.trace.enabled) this.trace.log('fault: partition heals');
    });
  }

  private canChangeMembership(): boolean {
    return this.change === undefined && this.counts.membershipChanges < this.scenario.faults.membershipChangesMax;
  }

  /** Time for every operation of the old ring to end and its last messages to land. */
  private settleMs(): number {
    const s = this.scenario;
    return s.timeoutMs + s.network.delayMaxMs * Math.max(1, s.network.stallFactor) + s.timing.commitMaxMs + Math.min(100, s.timeoutMs / 4) + 1;
  }

  private join(): void {
    if (!this.canChangeMembership() || this.nextNodeId >= NODE_IDS_MAX) return;
    const id = this.nextNodeId++;
    this.addNode(id);
    this.host.link(id);
    this.counts.membershipChanges++;
    this.startChange('add', id, this.coordinator.ring.withNodeAdded(id));
  }

  private leave(): void {
    if (!this.canChangeMembership()) return;
    const members = this.coordinator.ring.nodeIds();
    // Keep more than N nodes, so N distinct replicas remain however the next change goes.
    if (members.length <= this.n + 1) return;
    const candidates = this.scenario.faults.leaving === 'any' ? members : members.filter((id) => this.host.isUp(id) && this.hintsHeldFor(id) === 0);
    if (candidates.length === 0) return;
    const id = this.pick(this.faultPrng, candidates);
    this.counts.membershipChanges++;
    // store.ts removeNode: a crashed node starts on its data first, so that it hands everything over before it leaves.
    if (!this.nodes.get(id)!.isUp) this.restart(id, this.lives.get(id)!);
    this.startChange('remove', id, this.coordinator.ring.withNodeRemoved(id));
  }

  /**
   * The store's membership change itself (lib/store/membership-change.ts,
   * as Store.addNode and removeNode run it), on the virtual clock. What the
   * Store does around it, here too: a joining node is reachable before it is
   * in the ring; a node that failed to join, or that left, is stopped.
   */
  private startChange(kind: 'add' | 'remove', id: number, ring: Ring): void {
    const change = { startedMs: this.queue.nowMs };
    this.change = change;
    if (this.trace.enabled) this.trace.log(`ring: ${kind === 'add' ? `n${id} joins` : `n${id} leaves`}; nodes to be ${ring.nodeIds().join(',')}`);
    const reachable = (node: number) => this.host.isUp(node) || (kind === 'add' && node === id);
    const host = this.countedHost();
    const move = async () => {
      if (kind === 'remove') {
        // As Store.removeNode: the leaving node's own hints are handed off first (their owners must be up), or it is refused.
        const handedOff = await drainLeavingHints(this.coordinator, host, () => this.hintsHeldBy(id), HINTS_DRAIN_WAIT_MS);
        if (!handedOff) throw new Error(`n${id} still holds hints for down nodes`);
      }
      return moveTo(this.coordinator, host, ring, kind, id, reachable, () => {});
    };
    changeMembership(this.coordinator, move, kind === 'remove' ? id : undefined).then(
      (result) => {
        if (this.trace.enabled) this.trace.log(`membership: ${kind} n${id} done: ${result.keysCopied} keys copied, ${result.keysDropped} dropped`);
        if (kind === 'remove') this.stopNode(id, true);
        this.changeDone(change);
      },
      (error: Error) => {
        this.counts.membershipChangesFailed++;
        if (this.trace.enabled) this.trace.log(`membership: ${kind} n${id} failed: ${error.message}`);
        // As Store.addNode and removeNode: the ring switch is the commit point. A node that did not join stops; one that left is removed.
        const inRing = this.coordinator.ring.nodeIds().includes(id);
        if (kind === 'add' && !inRing) this.stopNode(id, false);
        if (kind === 'remove' && !inRing) this.stopNode(id, true);
        this.changeDone(change);
      },
    );
  }

  /** Store.removeNode's end (and addNode's on failure): the node is marked down, stopped, and forgotten. */
  private stopNode(id: number, retire: boolean): void {
    // A hint is a copy its write may have counted (Dynamo §4.6): one still on a removed node leaves with it.
    const hintsLeft = retire && this.nodes.has(id) ? this.hintsHeldBy(id) : 0;
    if (hintsLeft > 0) this.invariants.push({ kind: 'invariant', message: `at ${this.queue.nowMs.toFixed(2)}ms: n${id} left the ring holding ${hintsLeft} hints, which left with it` });
    this.host.markDown(id);
    this.nodes.get(id)?.crash();
    this.nodes.delete(id);
    this.host.unlink(id);
    if (retire && !this.host.retired.includes(id)) this.host.retired.push(id);
  }

  /** The host, counting the membership change's requests still out (the run awaits their continuations). */
  private countedHost(): CoordinatorHost {
    const host = this.host;
    const counted = Object.create(host) as SimHost;
    Object.defineProperty(counted, 'send', {
      value: (target: number, request: RequestRecord, reply: PendingReply, tag: number) => {
        this.changeRequests++;
        let settled = false;
        const settle = () => {
          if (settled) return;
          settled = true;
          this.changeRequests--;
        };
        host.send(target, request, {
          onReply: (t, status, bytes, view, at, length, replyTag) => {
            settle();
            reply.onReply(t, status, bytes, view, at, length, replyTag);
          },
          onNodeFailure: (t, error, replyTag) => {
            settle();
            reply.onNodeFailure(t, error, replyTag);
          },
        }, tag);
      },
    });
    return counted;
  }

  private changeDone(change: { startedMs: number }): void {
    this.change = undefined;
    // Until the handoff ends, new replicas may lack data: reads overlapping a change are exempt from R + W > N.
    this.history.exemptWindows.push([change.startedMs, this.queue.nowMs]);
    // Hints held for a node that just left are deliverable now (to the keys' current replicas).
    this.armWatch();
    // A node that left is gone: nothing to watch for it any more.
    for (const id of [...this.downReasons.keys()]) if (!this.nodes.has(id)) this.downReasons.delete(id);
    for (const id of [...this.silentSince.keys()]) if (!this.nodes.has(id)) this.silentSince.delete(id);
  }

  private heal(): void {
    if (this.trace.enabled) this.trace.log('heal: links reliable, partition healed, every node restarted');
    this.network.setConfig(RELIABLE);
    this.network.heal();
    this.silentSince.clear();
    this.partitionActive = false;
    this.armWatch();
    for (const node of [...this.nodes.values()].sort((a, b) => a.id - b.id)) {
      if (node.isUp) continue;
      this.restart(node.id, this.lives.get(node.id)!);
    }
  }

  // ---- randomness ---------------------------------------------------------------------

  private uniform(prng: Prng, min: number, max: number): number {
    return min + (max - min) * (prng.nextUint32() / 4294967296);
  }

  private chance(prng: Prng, probability: number): boolean {
    return prng.nextUint32() / 4294967296 < probability;
  }

  private pick<T>(prng: Prng, items: readonly T[]): T {
    return items[prng.nextBelow(items.length)]!;
  }

  private weighted<K extends string>(prng: Prng, weights: Record<K, number>): K {
    const entries = Object.entries(weights) as [K, number][];
    const total = entries.reduce((sum, [, weight]) => sum + weight, 0);
    let draw = this.uniform(prng, 0, total);
    for (const [kind, weight] of entries) {
      if (draw < weight) return kind;
      draw -= weight;
    }
    return entries[entries.length - 1]![0];
  }

  stats(): RunStats {
    const writes = this.history.writes;
    const reads = this.history.reads;
    let crashes = 0;
    for (const node of this.nodes.values()) crashes += node.crashes;
    return {
      events: this.queue.ran,
      virtualMs: this.queue.nowMs,
      writes: writes.length,
      writesAcked: writes.filter((w) => w.outcome === 'ok').length,
      reads: reads.length,
      readsOk: reads.filter((r) => r.outcome === 'ok').length,
      crashes: Math.max(crashes, this.counts.crashes),
      partitions: this.counts.partitions,
      membershipChanges: this.counts.membershipChanges,
      messages: this.network.stats.sent,
      lost: this.network.stats.lost + this.network.stats.partitioned,
      siblingReads: this.counts.siblingReads,
      entryTimestampsDiffer: this.entryTimestampsDiffer,
      readsChecked: this.history.readsChecked,
      hintsDelivered: this.coordinator.handoff.delivered,
      putRetries: this.coordinator.counters.putRetries,
      putManyCalls: this.batches,
      putManyItemsAcked: writes.filter((w) => w.batch >= 0 && w.outcome === 'ok').length,
      membershipChangesFailed: this.counts.membershipChangesFailed,
      orderedAcked: this.ordered.acknowledged,
      consistentReadsOk: this.ordered.reads.filter((read) => read.outcome === 'ok' && read.via === 'get').length,
      consistentRangeReadsOk: this.ordered.reads.filter((read) => read.outcome === 'ok' && read.via === 'range').length,
      racesWon: new Set(this.ordered.writes.filter((write) => write.race >= 0 && write.outcome === 'ok').map((write) => write.race)).size,
      elections: this.coordinator.leaders.elections,
      electionRounds: this.coordinator.leaders.electionRounds,
    };
  }

  transactionStats(): TransactionStats | undefined {
    const workload = this.transactions;
    if (workload === undefined) return undefined;
    const transfers: Record<string, number> = {};
    for (const transfer of workload.history.transfers) transfers[transfer.outcome] = (transfers[transfer.outcome] ?? 0) + 1;
    return { transfers, attempts: Object.fromEntries(workload.history.attemptOutcomes), snapshots: workload.history.snapshots.length, processesKilled: workload.kills };
  }
}

/**
 * `turns` turns of the microtask queue: what a putMany's settling queued runs
 * meanwhile (Coordinator.putMany's await, its promise, the client's reaction).
 */
async function microtaskTurns(turns: number): Promise<void> {
  for (let turn = 0; turn < turns; turn++) await undefined;
}

/** The key a leader-ordered key's name stands for: range keys are partitioned keys of one partition, others plain. */
function orderedWireKey(name: string): string | Uint8Array {
  return name.startsWith('rk') ? orderedKeyBytes(name) : name;
}

function orderedKeyBytes(name: string): Uint8Array {
  return name.startsWith('rk') ? partitionedKey(RANGE_SPACE, RANGE_PARTITION, new TextEncoder().encode(name)) : Buffer.from(name, 'utf8');
}
