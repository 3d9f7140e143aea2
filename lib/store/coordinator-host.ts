/**
 * The coordinator's world, as one injected object: its clocks, its timers,
 * the end of a turn (when write envelopes are flushed), and its links to the
 * storage nodes. The Store hands it the Node one (node-host.ts: the real
 * clocks and timers, the nodes' rings); the simulation hands it a
 * virtual clock, virtual timers and a simulated network (test/simulation/).
 * So the code between "a request is admitted" and "its quorum settled" is the
 * same in both (FoundationDB, TigerBeetle: simulate the code you ship).
 */
import type { PendingReply } from '../transport/node-link.js';
import type { RequestRecord, WireKey } from '../transport/wire.js';

/**
 * Send one request to `target`: a node, or a node standing in for another
 * (ring/sloppy-quorum.ts). The answer, or the node's failure, reaches
 * `reply` with the target and `tag`. A node marked down fails the request at
 * once: requests never wait on it.
 */
export type Send = (target: number, request: RequestRecord, reply: PendingReply, tag: number) => void;

/** An armed timer, as setTimer returned it. */
export type TimerHandle = unknown;

export interface CoordinatorHost {
  /** Milliseconds since the epoch: version timestamps and expiry. */
  wallClockMs(): number;
  /** A monotonic clock: deadlines, grace periods, durations. */
  monotonicMs(): number;
  /** Run `run` once, `delayMs` from now. The timer never keeps the process alive. */
  setTimer(delayMs: number, run: () => void): TimerHandle;
  clearTimer(timer: TimerHandle): void;
  /** A pause that a caller awaits (it keeps the process alive meanwhile). */
  sleep(delayMs: number): Promise<void>;
  /** Run `flush` once the work of the current turn is done (write envelopes fill within a turn). */
  scheduleFlush(flush: () => void): void;
  send: Send;
  /**
   * Answer a GET to `target` (one of the key's own replicas, up) from its
   * storage in this thread, as its node would, synchronously; false when it
   * cannot be read that way now (paused, fault-injected, not open): then it
   * is sent. Hosts without it send every read (readPath 'direct', read-path.ts).
   * `batch`: a read of a getMany (the host may let a batch read more per turn).
   */
  readInPlace?(target: number, key: WireKey, reply: PendingReply, tag: number, batch?: boolean): boolean;
  /** Whether a get's `reads` reads (1 unless said) may still be served in place in this macrotask (with readInPlace); `batch`: a getMany's, under its own bound. */
  inPlaceTurnLeft?(reads?: number, batch?: boolean): boolean;
  /** Run `run` in the next macrotask, once the reads-in-place bound is reset (with readInPlace). */
  nextTurn?(run: () => void): void;
  /** Marked down, or not in the store: what `send` fails at once. */
  isDown(node: number): boolean;
  /** Routable: its thread runs and nobody marked it down. */
  isUp(node: number): boolean;
  /**
   * The greatest leader term `node` reports knowing (node-stats.ts
   * TERM_MAX), 0 if none. Without it, a reopened store's first elections
   * learn the nodes' terms from their refusals (STALE_TERM) and run again.
   */
  knownTermOf?(node: number): number;
  /** Hints `holder` reports holding for `owner`. */
  hintsHeld(holder: number, owner: number): number;
  /** Hints every node reports holding for `owner` (a crashed holder's last report counts). */
  hintsOwedTo(owner: number): number;
  /** Removed nodes that stand-ins may still hold hints for. */
  retiredIds(): Iterable<number>;
}

/**
 * An attachment's timers, from the Node adapter (node-host.ts attachmentTimers)
 * or a test's: it needs them before its store and host exist (attaching waits
 * for the owner's first answer). Unlike the coordinator's, they keep the
 * thread alive: a call waiting for the owner must not let its thread exit.
 */
export interface AttachmentTimers {
  setTimer(delayMs: number, run: () => void): TimerHandle;
  clearTimer(timer: TimerHandle): void;
  /** Run `run` in a later turn of the event loop. */
  nextTurn(run: () => void): void;
}
