/**
 * Ownership handoff (Riak's ownership handoff; Dynamo §4.9 says the nodes
 * that lose a range hand it over): a node can hold keys of ring partitions
 * it no longer replicates. It was down while a membership change moved them
 * (range-move.ts streams from, and drops on, the nodes that are up), or a
 * hand-over failed part way. Reads and anti-entropy only look at a key's
 * current replicas, so such data is invisible for good unless it is moved:
 * issue 9's critical finding (acknowledged writes lost after addNode while
 * replicas were down).
 *
 * So the coordinator sweeps nodes: it pages through a node's keys of the
 * partitions outside its ranges (Op.PARTITION_SCAN), merges each into every
 * current replica of its key (Op.REPLICATE, a DVVSet sync, so order and
 * repetition do not matter), and only once all N acknowledged tells the
 * holder to drop it (Op.DROP_IF_COVERED, which keeps anything newer that
 * arrived meanwhile). If a replica is down or refuses, the key stays where it
 * is and the node is swept again later: data is never dropped on fewer than N.
 *
 * A node is owed a sweep each time it starts (it may have been down through
 * a change), when it lost ranges in a membership change (its hand-over may
 * have failed), and at every anti-entropy pass. Sweeps pause while a
 * membership change runs: its copies to gaining nodes lie outside their
 * current ranges on purpose.
 *
 * Each node's latest clean sweep (every key it found handed to all N and
 * dropped, or none found) is remembered with the time it began and its ring:
 * tombstone purges wait until every node outside a key's preference list has
 * one that began `graceMs` after the last membership change ended
 * (purge-rule.ts nodesToSweepBeforePurge); a purge that finds one missing owes it.
 *
 * Bounded: one page in flight per node, pages of at most PAGE_ENTRIES_MAX
 * keys, a token bucket of `keysPerSecond` (as hinted handoff), and a failed
 * sweep is tried again no sooner than RETRY_MS later. The bucket paces the
 * keys handed over (a REPLICATE to each replica and a drop per key): a page
 * reserves its `limit` and gives back what it did not bring. A node holds
 * nothing outside its ranges after most starts, so its sweep is a run of
 * empty pages (each examines up to the node's scan bound of keys); charged
 * their `limit` each, a reopened store of a million keys waited seconds for
 * tokens (20,000 per second at 256 a page: 78 pages a second for all nodes),
 * and tombstone purges with it. Empty pages stay paced by the one page in
 * flight per node.
 */
import { hashKey32 } from '../ring/hash.js';
import type { PreferenceListTable } from '../ring/preference-list.js';
import type { Ring } from '../ring/ring.js';
import { type Entry, Op, Status, decodeScanPage, encodeScanRequest, requestOf } from '../transport/wire.js';
import type { Send } from './coordinator-host.js';

const PAGE_ENTRIES_MAX = 256;
const RETRY_MS = 1000;
const EMPTY = new Uint8Array(0);

export interface OwnershipHost {
  send: Send;
  isUp(node: number): boolean;
  /** The current ring and its preference lists. */
  ring(): Ring;
  table(): PreferenceListTable;
  /** A membership change runs: no sweep starts, no page is asked for, nothing is dropped. */
  paused(): boolean;
}

interface Sweep {
  node: number;
  startedMs: number;
  /** The ring the sweep started on: if it switches, the sweep stops (the foreign partitions changed). */
  ring: Ring;
  partitions: number[];
  cursor: Uint8Array;
  next: Uint8Array | undefined;
  /** Keys of the current page not yet settled. */
  outstanding: number;
  /** Some key could not be handed to all its replicas: sweep again later. */
  failed: boolean;
  /** Out of tokens: the next tick asks for the next page. */
  waiting: boolean;
}

export class OwnershipHandoff {
  private readonly host: OwnershipHost;
  private readonly keysPerSecond: number;
  /** Nodes owed a sweep, with the earliest time it may start. */
  private readonly owed = new Map<number, number>();
  private readonly sweeps = new Map<number, Sweep>();
  /** Each node's latest clean sweep: when it began, on which ring. */
  private readonly clean = new Map<number, { ring: Ring; startedMs: number }>();
  /** When the last membership change ended; -Infinity if none ran. */
  changeEndedMs = Number.NEGATIVE_INFINITY;
  private tokens = 0;
  private lastRefillMs: number | undefined;
  private nowMs = 0;
  /** Keys merged into all their current replicas and dropped on the node that held them outside its ranges. */
  keysHandedOver = 0;
  sweepsDone = 0;
  errors = 0;

  constructor(host: OwnershipHost, keysPerSecond: number) {
    this.host = host;
    this.keysPerSecond = keysPerSecond;
  }

  /** Sweeps under way. */
  get active(): number {
    return this.sweeps.size;
  }

  /** Some node of the ring is owed a sweep or being swept (up or not): it may hold data its keys' replicas lack. */
  get pending(): boolean {
    return this.owed.size > 0 || this.sweeps.size > 0;
  }

  /** Nodes owed a sweep or being swept (stats(): every node is owed one at each start). */
  get nodesPending(): number {
    let count = this.sweeps.size;
    for (const node of this.owed.keys()) if (!this.sweeps.has(node)) count++;
    return count;
  }

  /** A sweep runs, or a node that is up is owed one due now (one that failed waits RETRY_MS). */
  runnable(nowMs: number): boolean {
    if (this.sweeps.size > 0) return true;
    for (const [node, notBeforeMs] of this.owed) if (notBeforeMs <= nowMs && this.host.isUp(node)) return true;
    return false;
  }

  /** `node` may hold keys outside its ranges: sweep it (at the next tick it is up, no sooner than `notBeforeMs`). */
  owe(node: number, notBeforeMs = 0): void {
    this.owed.set(node, Math.max(this.owed.get(node) ?? 0, notBeforeMs));
  }

  /** A membership change ended (failed or not) at `nowMs`: sweeps that began before no longer rule out stranded copies. */
  changeEnded(nowMs: number): void {
    this.changeEndedMs = nowMs;
  }

  /** When `node`'s latest clean sweep on the current ring began (purge-rule.ts), or undefined. */
  sweptCleanSinceMs(node: number): number | undefined {
    const clean = this.clean.get(node);
    return clean === undefined || clean.ring !== this.host.ring() ? undefined : clean.startedMs;
  }

  /** Every node of the ring (anti-entropy: a periodic sweep finds what anything else missed). */
  oweAll(): void {
    for (const node of this.host.ring().nodeIds()) this.owe(node);
  }

  /** A node removed from the store: nothing to sweep there any more (it handed everything over before leaving). */
  forget(node: number): void {
    this.owed.delete(node);
    this.sweeps.delete(node);
    this.clean.delete(node);
  }

  /** Called periodically (the store's watch, with hinted handoff): start or resume sweeps. */
  tick(nowMs: number): void {
    this.nowMs = nowMs;
    // The bucket starts full: a sweep owed before the first tick (a purge waiting for it) need not wait for a second one.
    const refilled = this.lastRefillMs === undefined ? this.keysPerSecond : this.tokens + ((nowMs - this.lastRefillMs) / 1000) * this.keysPerSecond;
    this.tokens = Math.min(this.keysPerSecond, refilled);
    this.lastRefillMs = nowMs;
    if (this.host.paused()) return;
    for (const sweep of this.sweeps.values()) if (sweep.waiting) this.requestPage(sweep);
    const members = this.host.ring().nodeIds();
    for (const [node, notBeforeMs] of this.owed) {
      if (!members.includes(node)) {
        this.owed.delete(node); // removed: it handed everything over before it left
        continue;
      }
      if (this.sweeps.has(node) || notBeforeMs > nowMs || !this.host.isUp(node)) continue;
      this.owed.delete(node);
      this.start(node);
    }
  }

  private start(node: number): void {
    const ring = this.host.ring();
    const table = this.host.table();
    const partitions: number[] = [];
    for (let p = 0; p < ring.partitionCount; p++) if (!table.forPartition(p).includes(node)) partitions.push(p);
    if (partitions.length === 0) {
      // It replicates every partition (nodes = N): nothing of it lies outside its ranges.
      this.clean.set(node, { ring, startedMs: this.nowMs });
      return;
    }
    const sweep: Sweep = { node, startedMs: this.nowMs, ring, partitions, cursor: EMPTY, next: undefined, outstanding: 0, failed: false, waiting: false };
    this.sweeps.set(node, sweep);
    this.requestPage(sweep);
  }

  private requestPage(sweep: Sweep): void {
    sweep.waiting = false;
    if (this.host.paused() || this.host.ring() !== sweep.ring || !this.host.isUp(sweep.node)) return this.end(sweep, true);
    const limit = Math.min(PAGE_ENTRIES_MAX, Math.floor(this.tokens));
    if (limit < 1) {
      sweep.waiting = true;
      return;
    }
    this.tokens -= limit;
    const request = encodeScanRequest(limit, sweep.ring.partitionBits, sweep.partitions);
    this.host.send(sweep.node, requestOf(Op.PARTITION_SCAN, sweep.cursor, request), {
      onReply: (_target, status, bytes, _view, at, length) => {
        if (status !== Status.OK) {
          this.giveBack(limit);
          if (this.sweeps.get(sweep.node) === sweep) this.end(sweep, true);
          return;
        }
        const page = decodeScanPage(bytes, at, length);
        this.giveBack(limit - page.entries.length);
        if (this.sweeps.get(sweep.node) !== sweep) return;
        sweep.next = page.next;
        if (page.entries.length === 0) return this.pageDone(sweep);
        sweep.outstanding = page.entries.length;
        for (const entry of page.entries) this.handOver(sweep, entry);
      },
      onNodeFailure: () => {
        this.giveBack(limit);
        if (this.sweeps.get(sweep.node) === sweep) this.end(sweep, true);
      },
    }, 0);
  }

  /** Tokens a page reserved and did not use: no key of it to hand over. */
  private giveBack(tokens: number): void {
    this.tokens = Math.min(this.keysPerSecond, this.tokens + tokens);
  }

  /** Merge the key into every current replica; once all acknowledged, drop it on the holder. */
  private handOver(sweep: Sweep, entry: Entry): void {
    const replicas = Array.from(this.host.table().forHash(hashKey32(entry.key)));
    const settle = (ok: boolean) => {
      if (!ok) sweep.failed = true;
      if (--sweep.outstanding > 0) return;
      if (this.sweeps.get(sweep.node) === sweep) this.pageDone(sweep);
    };
    if (this.host.ring() !== sweep.ring || replicas.includes(sweep.node)) return settle(false);
    let waiting = replicas.length;
    let merged = true;
    const onMerged = (ok: boolean) => {
      if (!ok) merged = false;
      if (--waiting > 0) return;
      // Only on all N, and not if a change began meanwhile (it may be copying to this node on purpose).
      if (!merged || this.host.paused() || this.host.ring() !== sweep.ring) {
        this.errors++;
        return settle(false);
      }
      this.host.send(sweep.node, requestOf(Op.DROP_IF_COVERED, entry.key, entry.object), {
        onReply: (_t, status) => {
          // NOT_FOUND: gone already. CONFLICT: the holder kept a newer copy than the one merged,
          // which the replicas may lack, so this sweep is not clean; the next one hands it over.
          if (status === Status.OK) this.keysHandedOver++;
          settle(status === Status.OK || status === Status.NOT_FOUND);
        },
        onNodeFailure: () => settle(false),
      }, 0);
    };
    for (const replica of replicas) {
      this.host.send(replica, requestOf(Op.REPLICATE, entry.key, entry.object), {
        onReply: (_t, status) => onMerged(status === Status.OK),
        onNodeFailure: () => onMerged(false),
      }, 0);
    }
  }

  private pageDone(sweep: Sweep): void {
    if (sweep.next === undefined) return this.end(sweep, sweep.failed);
    sweep.cursor = sweep.next;
    this.requestPage(sweep);
  }

  private end(sweep: Sweep, failed: boolean): void {
    this.sweeps.delete(sweep.node);
    if (!failed) {
      this.sweepsDone++;
      this.clean.set(sweep.node, { ring: sweep.ring, startedMs: sweep.startedMs });
      return;
    }
    this.errors++;
    // Sweep it again later (from the start: keys it kept are still there).
    const notBeforeMs = this.nowMs + RETRY_MS;
    this.owed.set(sweep.node, Math.max(this.owed.get(sweep.node) ?? 0, notBeforeMs));
  }
}
