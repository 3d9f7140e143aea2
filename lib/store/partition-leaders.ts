/**
 * Which node leads each ring partition, under which term (lib/tables/DESIGN.md
 * §3): the first up node of the partition's preference list, with a term that
 * grows on every change (Raft's term, used here only as a fence: nodes refuse
 * requests of older terms). A new leader serves only once it caught up
 * (leader-election.ts); requests that arrive meanwhile wait here, bounded.
 *
 * Pure: the coordinator passes in the preference list and who is up, and runs
 * the catch-up this decides; the simulation runs this code.
 */
import assert from 'node:assert/strict';
import { ErrorCode, RingtableError } from '../errors.js';
import { TERM_MAX } from '../version/ordered-version.js';

/** Requests one partition may hold while its leader catches up; beyond, ERR_OVERLOADED. */
export const LEADER_WAITERS_MAX = 4096;

/**
 * Partitions one election round catches up at most. A fresh or reopened
 * store elects a leader for every partition at first use (1,024 with 4 nodes
 * of 256 vnodes); a round fences and scans its whole batch at once (one TERM
 * round, one PARTITION_SCAN per replica over the batch's partitions), so its
 * first seconds cost tens of rounds, not a round per partition. Bounded
 * because the first request of a round waits for the whole batch's scans.
 */
export const ELECTION_BATCH_MAX = 64;

/** A request waiting for its partition's leader: started once it serves, failed if catch-up fails. */
export interface LeaderWaiter {
  leaderReady(leader: number, term: number): void;
  leaderFailed(error: RingtableError): void;
}

export interface Leadership {
  readonly partition: number;
  readonly leader: number;
  readonly term: number;
  ready: boolean;
  /**
   * Its leader's copy may be read in place (readPath 'direct'): the node has
   * led this term since its catch-up, so its committed data is what it would
   * answer an ORDERED_GET of this term with. A restart of the leader clears
   * it (the restarted node no longer leads any term and may have lost
   * unsynced writes): its reads go by message, which it refuses, and the
   * next request elects again.
   */
  readsInPlace: boolean;
  /**
   * Its leader restarted since the term was opened: the node no longer leads
   * it (leading is not persisted) and refuses it, so the partition needs a
   * new term whatever happens, and an election round may open it as a
   * companion (electionBatch).
   */
  leaderRestarted: boolean;
  readonly waiters: LeaderWaiter[];
}

export type LeaderRoute =
  | { action: 'serve'; leadership: Leadership }
  | { action: 'wait'; leadership: Leadership }
  /** A new term was opened: the caller runs its catch-up, then calls ready() or failed(). */
  | { action: 'elect'; leadership: Leadership }
  | { action: 'unavailable' };

export class PartitionLeaders {
  private readonly states = new Map<number, Leadership>();
  /** The last term handed out; every new leadership takes the next one. */
  private lastTerm: number;
  /** Terms opened: one per partition and leader change. */
  elections = 0;
  /** Election rounds (electionBatch): each catches up one or more of those terms together. */
  electionRounds = 0;

  constructor(lastTerm = 0) {
    this.lastTerm = lastTerm;
  }

  /** The first up node of the list: the partition's leader. */
  static leaderOf(list: ArrayLike<number>, isUp: (node: number) => boolean): number | undefined {
    for (let i = 0; i < list.length; i++) if (isUp(list[i]!)) return list[i]!;
    return undefined;
  }

  get(partition: number): Leadership | undefined {
    return this.states.get(partition);
  }

  /**
   * Where a request for `partition` goes. The leader is recomputed on every
   * request, so a leader marked down, a node back up ahead of it in the list,
   * or a ring switch opens a new term at the next request.
   */
  route(partition: number, list: ArrayLike<number>, isUp: (node: number) => boolean, waiter: LeaderWaiter | undefined): LeaderRoute {
    const leader = PartitionLeaders.leaderOf(list, isUp);
    if (leader === undefined) return { action: 'unavailable' };
    let state = this.states.get(partition);
    let action: 'serve' | 'wait' | 'elect' = 'serve';
    if (state === undefined || state.leader !== leader) {
      const superseded = state;
      state = this.open(partition, leader);
      // Requests waiting on the superseded term wait on this one.
      if (superseded !== undefined) state.waiters.push(...superseded.waiters.splice(0));
      action = 'elect';
    } else if (!state.ready) {
      action = 'wait';
    }
    if (action !== 'serve' && waiter !== undefined) {
      if (state.waiters.length >= LEADER_WAITERS_MAX) {
        throw new RingtableError(ErrorCode.OVERLOADED, `${state.waiters.length} requests wait for partition ${partition}'s leader to catch up`);
      }
      state.waiters.push(waiter);
    }
    return { action, leadership: state };
  }

  /**
   * The leaderships one election round catches up: `leadership`, which
   * route() just opened, and up to ELECTION_BATCH_MAX - 1 more partitions,
   * opened here under terms of their own, that nobody leads (no leadership
   * at all: never elected since the open, or a failed or forgotten election;
   * or a caught-up leadership whose leader restarted since: it leads no term
   * after a restart, so it refuses this one and the partition's next request
   * elects anyway) and whose preference lists hold the same nodes with the
   * same first up node. So every replica of the batch holds every one of its
   * partitions, and one fence round and one scan per replica serve them all;
   * each partition's term, fence and catch-up mean what a round of its own
   * would. A partition led by another node, a term still in force, or an
   * election under way is left to its own requests; so is a leadership
   * whose leader is down but did not restart: it may come back still
   * leading, and serve without an election (taking those too moved more
   * leaderships on every brief failure, and the simulation's planted
   * serve-uncommitted bug was caught only at seed 149 instead of 52 of
   * 'ordered'). Taken in partition order after `leadership`'s, wrapping,
   * so the choice depends only on the arguments and the leaderships. With
   * fewer than `needed` replicas up (the N - W + 1 a catch-up reads) the
   * round cannot succeed: it takes no companions, whose terms it would open
   * and fail for nothing at every request while the replicas stay down.
   *
   * Without the restarted leaders' leaderships, a leader's restart made each
   * of its partitions elect in a round of its own at its next request (its
   * refusal forgets the term): 71 rounds for 71 partitions in a scratch run.
   */
  electionBatch(leadership: Leadership, list: ArrayLike<number>, needed: number, partitionCount: number, listOf: (partition: number) => ArrayLike<number>, isUp: (node: number) => boolean, batchMax = ELECTION_BATCH_MAX): Leadership[] {
    assert.ok(this.states.get(leadership.partition) === leadership && !leadership.ready, 'a batch starts from the leadership route() just opened');
    this.electionRounds++;
    const batch = [leadership];
    if (upCount(list, isUp) < needed) return batch;
    for (let step = 1; step < partitionCount && batch.length < batchMax; step++) {
      const partition = (leadership.partition + step) % partitionCount;
      const state = this.states.get(partition);
      const other = listOf(partition);
      if (state !== undefined && !(state.ready && state.leaderRestarted)) continue;
      if (!sameNodes(other, list) || PartitionLeaders.leaderOf(other, isUp) !== leadership.leader) continue;
      // A leadership that caught up has no waiters (ready() started them): nothing moves to the new term.
      batch.push(this.open(partition, leadership.leader));
    }
    return batch;
  }

  private open(partition: number, leader: number): Leadership {
    assert.ok(this.lastTerm < TERM_MAX, 'leader terms exhausted');
    this.elections++;
    const state: Leadership = { partition, leader, term: ++this.lastTerm, ready: false, readsInPlace: true, leaderRestarted: false, waiters: [] };
    this.states.set(partition, state);
    return state;
  }

  /** A node knows a newer term (another coordinator's, or this one's before a restart): later terms exceed it. */
  learnTerm(term: number): void {
    if (term > this.lastTerm) this.lastTerm = Math.min(term, TERM_MAX - 1);
  }

  /** Catch-up done: the waiters start, if this leadership is still the current one. */
  ready(leadership: Leadership): LeaderWaiter[] {
    if (this.states.get(leadership.partition) !== leadership) return [];
    leadership.ready = true;
    return leadership.waiters.splice(0);
  }

  /** Catch-up failed: the waiters fail and the next request elects again. */
  failed(leadership: Leadership): LeaderWaiter[] {
    if (this.states.get(leadership.partition) === leadership) this.states.delete(leadership.partition);
    return leadership.waiters.splice(0);
  }

  /** The leader refused its term (it restarted, or a newer term exists): the next request elects again. */
  forget(partition: number, term: number): void {
    const state = this.states.get(partition);
    if (state !== undefined && state.term === term && state.ready) this.states.delete(partition);
  }

  /** `node` (re)started: it leads no term any more, so its copies are no longer read in place as the leader's. */
  leaderStarted(node: number): void {
    for (const state of this.states.values()) {
      if (state.leader !== node) continue;
      state.readsInPlace = false;
      state.leaderRestarted = true;
    }
  }

  /** A consistent read of `partition` at `leader` under `term` may read its copy in place (Leadership.readsInPlace). */
  readsInPlace(partition: number, leader: number, term: number): boolean {
    const state = this.states.get(partition);
    return state !== undefined && state.ready && state.readsInPlace && state.leader === leader && state.term === term;
  }

  /** A waiter whose deadline passed leaves its queue. */
  removeWaiter(partition: number, waiter: LeaderWaiter): void {
    const state = this.states.get(partition);
    if (state === undefined) return;
    const index = state.waiters.indexOf(waiter);
    if (index >= 0) state.waiters.splice(index, 1);
  }
}

function upCount(list: ArrayLike<number>, isUp: (node: number) => boolean): number {
  let count = 0;
  for (let i = 0; i < list.length; i++) if (isUp(list[i]!)) count++;
  return count;
}

/** Whether two preference lists hold the same nodes (in any order). */
function sameNodes(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Array.prototype.includes.call(b, a[i]!)) return false;
  return true;
}
