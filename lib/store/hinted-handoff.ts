/**
 * Hinted handoff (Dynamo §4.6): a stand-in that accepted writes for a down
 * node keeps them as hints; once the owner is back, the coordinator pages the
 * hints out of the stand-in (Op.HINTS), merges each into the owner
 * (Op.REPLICATE, a DVVSet sync, so order and repetition do not matter), and
 * after the owner acknowledges, tells the stand-in to drop it
 * (Op.HINT_DELIVERED, which keeps a hint that changed meanwhile). A hint
 * follows its key's current replicas: if the owner no longer replicates the
 * key (removed, or a membership change moved the key while it was down), it
 * is merged into every current replica instead, and dropped once all did.
 *
 * Bounded: at most one page in flight per (stand-in, owner) pair, pages of at
 * most PAGE_ENTRIES_MAX, and a token bucket of `keysPerSecond` so handoff
 * never starves foreground traffic. A pass over a pair's hints that runs out
 * of tokens resumes where it stopped at the next tick.
 *
 * A hint the owner refuses (it answers an error while up: ERR_SIBLINGS_FULL,
 * the merge would hold more concurrent values than a key may, until a put
 * with their context resolves them) is kept, for it may be a copy a write
 * counted; the pass goes on past it, so the hints after it are not held up,
 * and the pair's next pass waits REFUSED_RETRY_MS, so a refused hint is sent
 * again at that pace, not at every tick. `refused` counts them.
 */
import type { PendingReply } from '../transport/node-link.js';
import type { Send } from './coordinator-host.js';
import { Op, Status, decodeEntries, type Entry, requestOf } from '../transport/wire.js';
import { hintedTarget } from '../ring/sloppy-quorum.js';

const PAGE_ENTRIES_MAX = 256;
/** After a pass in which the owner refused hints: how long the pair waits before the next (a refusal lasts until a user resolves the key's siblings). */
export const REFUSED_RETRY_MS = 5_000;
const EMPTY = new Uint8Array(0);

/** What handoff needs from the store. */
export interface HandoffHost {
  /** Send to a target (ring/sloppy-quorum.ts); the reply names the target. */
  send: Send;
  isUp(node: number): boolean;
  /** Hints `holder` reports for `owner` (its shared counters). */
  hintsHeld(holder: number, owner: number): number;
  nodeIds(): readonly number[];
  /** Nodes removed from the store: hints still held for them go to the key's current replicas instead. */
  retiredIds(): Iterable<number>;
  /** The key's current replicas (for a hint whose owner no longer replicates its key). */
  replicasOf(key: Uint8Array): ArrayLike<number>;
  /**
   * Hints follow the key's current replicas (issue 9). False only for the
   * simulation's planted bug: a hint goes to its named owner even when a
   * membership change moved its key elsewhere, and is stranded there.
   */
  followReplicas?: boolean;
  /** A key of a dropped space: not handed off (its holder drops the hint with the space). */
  isDropped?(key: Uint8Array): boolean;
}

interface Job {
  holder: number;
  owner: number;
  cursor: Uint8Array;
  /** Entries of the current page not yet settled (delivered or failed). */
  outstanding: number;
  pageFull: boolean;
  /** A party failed: the pass stops, and the next tick starts over. */
  failed: boolean;
  /** Hints of this pass an owner refused (kept). */
  refused: number;
}

/** Where a pair's pass goes on at the next tick, or when its next pass may start. */
interface PassState {
  cursor: Uint8Array;
  refused: number;
  notBeforeMs: number;
}

export class HintedHandoff {
  private readonly host: HandoffHost;
  private readonly keysPerSecond: number;
  private readonly jobs = new Map<string, Job>();
  /** Per (stand-in, owner) pair with a pass to resume or to hold back: at most one entry per pair. */
  private readonly passes = new Map<string, PassState>();
  private tokens = 0;
  private lastRefillMs: number | undefined;
  delivered = 0;
  errors = 0;
  /** Hints an owner refused to merge (kept, sent again after REFUSED_RETRY_MS). */
  refused = 0;

  constructor(host: HandoffHost, keysPerSecond: number) {
    this.host = host;
    this.keysPerSecond = keysPerSecond;
  }

  get active(): number {
    return this.jobs.size;
  }

  /** Called periodically by the store: start a job for every up owner some up stand-in holds hints for. */
  tick(nowMs: number): void {
    if (this.lastRefillMs !== undefined) {
      this.tokens = Math.min(this.keysPerSecond, this.tokens + ((nowMs - this.lastRefillMs) / 1000) * this.keysPerSecond);
    }
    this.lastRefillMs = nowMs;
    const nodes = this.host.nodeIds();
    const owners = [...nodes, ...this.host.retiredIds()];
    for (const holder of nodes) {
      if (!this.host.isUp(holder)) continue;
      for (const owner of owners) {
        const retired = !nodes.includes(owner);
        if (owner === holder || (!retired && !this.host.isUp(owner)) || this.host.hintsHeld(holder, owner) === 0) continue;
        const id = `${holder}:${owner}`;
        if (this.jobs.has(id)) continue;
        const pass = this.passes.get(id);
        if (pass !== undefined && nowMs < pass.notBeforeMs) continue;
        const job: Job = { holder, owner, cursor: pass?.cursor ?? EMPTY, outstanding: 0, pageFull: false, failed: false, refused: pass?.refused ?? 0 };
        this.passes.delete(id);
        this.jobs.set(id, job);
        this.requestPage(id, job);
      }
    }
  }

  private requestPage(id: string, job: Job): void {
    const limit = Math.min(PAGE_ENTRIES_MAX, Math.floor(this.tokens));
    const retired = !this.host.nodeIds().includes(job.owner);
    if (limit < 1 || !this.host.isUp(job.holder) || (!retired && !this.host.isUp(job.owner))) {
      // Out of budget: the next tick goes on from here (else hints an owner
      // refused, first in key order, would take the budget of every tick).
      // A party went down: the next tick starts over.
      this.jobs.delete(id);
      if (limit < 1) this.passes.set(id, { cursor: job.cursor, refused: job.refused, notBeforeMs: 0 });
      return;
    }
    this.tokens -= limit;
    const value = new Uint8Array(4);
    new DataView(value.buffer).setUint32(0, limit, true);
    const reply: PendingReply = {
      onReply: (_target, status, bytes, _view, at, length) => {
        if (status !== Status.OK) return this.abort(id);
        const entries = decodeEntries(bytes, at, length);
        job.pageFull = entries.length >= limit;
        if (entries.length === 0) return this.passEnded(id, job);
        job.cursor = entries[entries.length - 1]!.key;
        job.outstanding = entries.length;
        for (const entry of entries) this.deliver(id, job, entry, retired);
      },
      onNodeFailure: () => this.abort(id),
    };
    this.host.send(hintedTarget(job.holder, job.owner), requestOf(Op.HINTS, job.cursor, value), reply, 0);
  }

  private deliver(id: string, job: Job, entry: Entry, retired: boolean): void {
    const settled = () => {
      if (--job.outstanding > 0) return;
      if (job.failed) this.jobs.delete(id);
      else if (!job.pageFull) this.passEnded(id, job);
      else this.requestPage(id, job);
    };
    const dropped: PendingReply = {
      onReply: (_t, status) => {
        if (status === Status.OK) this.delivered++;
        else this.errors++;
        settled();
      },
      onNodeFailure: () => {
        this.errors++;
        settled();
      },
    };
    if (this.host.isDropped?.(entry.key) === true) return settled();
    // The owner while it still replicates the key. Otherwise (it was removed,
    // or a membership change moved the key while it was down) every current
    // replica of the key, which must all merge it before the hint is dropped:
    // delivered to its named owner, it would sit where no read looks (issue 9).
    const current = Array.from(this.host.replicasOf(entry.key));
    const followReplicas = this.host.followReplicas ?? true;
    const recipients = retired ? current : !followReplicas || current.includes(job.owner) ? [job.owner] : current;
    let waiting = recipients.length;
    let outcome: 'merged' | 'refused' | 'failed' = 'merged';
    const onMerged = (answer: 'merged' | 'refused' | 'failed') => {
      if (answer === 'failed' || (answer === 'refused' && outcome === 'merged')) outcome = answer;
      if (--waiting > 0) return;
      if (outcome !== 'merged') {
        this.errors++;
        // Refused: the hint stays and the pass goes on. Failed: the pass stops.
        if (outcome === 'refused') {
          this.refused++;
          job.refused++;
        } else job.failed = true;
        return settled();
      }
      this.host.send(hintedTarget(job.holder, job.owner), requestOf(Op.HINT_DELIVERED, entry.key, entry.object), dropped, 0);
    };
    const merged: PendingReply = {
      onReply: (_t, status) => onMerged(status === Status.OK ? 'merged' : 'refused'),
      onNodeFailure: () => onMerged('failed'),
    };
    const replicate = requestOf(Op.REPLICATE, entry.key, entry.object);
    for (const node of recipients) this.host.send(node, replicate, merged, 0);
  }

  /** The pass read the pair's last page: the next starts from the first hint, held back if the owner refused some. */
  private passEnded(id: string, job: Job): void {
    this.jobs.delete(id);
    if (job.refused > 0) this.passes.set(id, { cursor: EMPTY, refused: 0, notBeforeMs: (this.lastRefillMs ?? 0) + REFUSED_RETRY_MS });
  }

  private abort(id: string): void {
    this.errors++;
    this.jobs.delete(id);
  }
}
