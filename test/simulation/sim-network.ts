/**
 * The simulated links between the coordinator and each storage node. They
 * carry the real request and response frames (wire.ts) as bytes, each with a
 * seeded delay; a message may be lost, duplicated, or overtaken by a later
 * one (delays are drawn per message, with occasional long stalls). A
 * partition makes a set of nodes unreachable from the coordinator: whatever
 * crosses it is dropped, in both directions.
 *
 * PUT and ORDERED_WRITE requests (and write envelopes holding a PUT) are never
 * duplicated: a PUT (or a leader-ordered write: a new version each time)
 * mints a new dot each time it is applied (it is not idempotent), and the real
 * transports (SharedArrayBuffer rings, postMessage) deliver each message once.
 * Everything else the coordinator sends is idempotent (GET, REPLICATE = DVVSet
 * sync, PURGE), and a duplicated or late response meets a request id that is
 * no longer pending; an envelope's answers are not duplicated (see duplicable).
 */
import { Prng } from '../../lib/prng.js';
import { Op, Request, RequestFlag, Response } from '../../lib/transport/wire.js';
import type { EventQueue } from './event-queue.js';

export interface NetworkConfig {
  delayMinMs: number;
  delayMaxMs: number;
  /** Probability that a message stalls for `stallFactor` times its delay: reordering beyond jitter. */
  stallProbability: number;
  stallFactor: number;
  lossProbability: number;
  duplicateProbability: number;
}

export const RELIABLE: NetworkConfig = {
  delayMinMs: 0.05,
  delayMaxMs: 1,
  stallProbability: 0,
  stallFactor: 1,
  lossProbability: 0,
  duplicateProbability: 0,
};

export interface NetworkStats {
  sent: number;
  delivered: number;
  lost: number;
  duplicated: number;
  partitioned: number;
}

export class SimNetwork {
  private config: NetworkConfig;
  private readonly prng: Prng;
  private readonly queue: EventQueue;
  private readonly cut = new Set<number>();
  readonly stats: NetworkStats = { sent: 0, delivered: 0, lost: 0, duplicated: 0, partitioned: 0 };

  constructor(config: NetworkConfig, seed: number, queue: EventQueue) {
    this.config = config;
    this.prng = new Prng(seed);
    this.queue = queue;
  }

  setConfig(config: NetworkConfig): void {
    this.config = config;
  }

  /** Nodes unreachable from the coordinator until `heal`. */
  partition(nodes: Iterable<number>): void {
    for (const node of nodes) this.cut.add(node);
  }

  heal(): void {
    this.cut.clear();
  }

  isCut(node: number): boolean {
    return this.cut.has(node);
  }

  get partitioned(): readonly number[] {
    return [...this.cut].sort((a, b) => a - b);
  }

  /**
   * Carry `frame` across the link of `node`; `deliver` runs at arrival
   * unless the message is lost. A partition is checked at both ends: a
   * message in flight when the cut happens is dropped too.
   */
  send(node: number, frame: Uint8Array, isRequest: boolean, deliver: (frame: Uint8Array) => void, onDrop?: (why: string) => void): void {
    this.stats.sent++;
    const config = this.config;
    if (this.cut.has(node)) {
      this.stats.partitioned++;
      onDrop?.('partitioned');
      return;
    }
    if (this.chance(config.lossProbability)) {
      this.stats.lost++;
      onDrop?.('lost');
      return;
    }
    const copies = duplicable(frame, isRequest) && this.chance(config.duplicateProbability) ? 2 : 1;
    if (copies === 2) this.stats.duplicated++;
    for (let i = 0; i < copies; i++) {
      this.queue.after(this.delayMs(), () => {
        if (this.cut.has(node)) {
          this.stats.partitioned++;
          onDrop?.('partitioned');
          return;
        }
        this.stats.delivered++;
        deliver(frame);
      });
    }
  }

  private delayMs(): number {
    const { delayMinMs, delayMaxMs, stallProbability, stallFactor } = this.config;
    const base = delayMinMs + (delayMaxMs - delayMinMs) * this.uniform();
    return this.chance(stallProbability) ? base * stallFactor : base;
  }

  private uniform(): number {
    return this.prng.nextUint32() / 4294967296;
  }

  private chance(probability: number): boolean {
    return probability > 0 && this.uniform() < probability;
  }
}

/**
 * Every message may arrive twice but these: a PUT, or an envelope holding one,
 * mints a new dot each time it is applied (store.ts never sends one twice
 * either); and an envelope's answers, which come in several chunks on one
 * pending request, so that a second copy would answer items twice (the rings
 * deliver each answer once).
 */
function duplicable(frame: Uint8Array, isRequest: boolean): boolean {
  if (!isRequest) return frame[Response.OP] !== Op.WRITE_BATCH;
  const op = frame[Request.OP];
  return op !== Op.PUT && op !== Op.ORDERED_WRITE && !(op === Op.WRITE_BATCH && (frame[Request.FLAGS]! & RequestFlag.MINTS) !== 0);
}
