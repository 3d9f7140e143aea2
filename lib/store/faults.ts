/**
 * Fault injection (`store.faults`): make the way to a node lossy, slow or
 * repetitive, or pause the node, to test what the store does about it. Every
 * random choice comes from a PRNG seeded per node from one seed, so a failing
 * run replays. Faults act on requests from the coordinator to the node; a
 * lost answer and a lost request look the same to a quorum.
 */
import { ErrorCode, RingtableError } from '../errors.js';
import { NodeStat } from '../node/replica.js';
import { Prng, deriveSeed } from '../prng.js';
import type { LinkFaults, NodeLink } from '../transport/node-link.js';

export interface DelayFault {
  minMs: number;
  maxMs: number;
  /** Share of requests delayed. Default 1. */
  probability?: number;
}

export class Faults {
  private readonly linkOf: (nodeId: number) => NodeLink;
  private readonly nodeIds: () => readonly number[];
  private seedValue: number;

  /** @internal The store makes one; use `store.faults`. */
  constructor(linkOf: (nodeId: number) => NodeLink, nodeIds: () => readonly number[], seed: number) {
    this.linkOf = linkOf;
    this.nodeIds = nodeIds;
    this.seedValue = seed >>> 0;
  }

  /** Reseed: faults set after this draw from PRNGs derived from `seed` and the node id. */
  seed(seed: number): this {
    if (!Number.isInteger(seed)) throw invalid(`seed must be an integer, got ${String(seed)}`);
    this.seedValue = seed >>> 0;
    return this;
  }

  /** Drop this share of the requests sent to the node (they time out). */
  drop(nodeId: number, probability: number): this {
    this.plan(nodeId).dropProbability = checkProbability(probability);
    return this;
  }

  /** Send this share of requests twice, PUTs and leader-ordered writes excepted (they mint a version; merges, reads and purges are idempotent). */
  duplicate(nodeId: number, probability: number): this {
    this.plan(nodeId).duplicateProbability = checkProbability(probability);
    return this;
  }

  /** Delay requests by a uniform time in [minMs, maxMs]; delayed requests can overtake each other (reordering). */
  delay(nodeId: number, fault: DelayFault): this {
    const { minMs, maxMs } = fault;
    if (!(Number.isFinite(minMs) && Number.isFinite(maxMs) && minMs >= 0 && maxMs >= minMs && maxMs <= 3_600_000)) {
      throw invalid(`delay needs 0 <= minMs <= maxMs <= 3600000, got ${String(minMs)}..${String(maxMs)}`);
    }
    const plan = this.plan(nodeId);
    plan.delayProbability = checkProbability(fault.probability ?? 1);
    plan.delayMsMin = minMs;
    plan.delayMsMax = maxMs;
    return this;
  }

  /**
   * Pause the node: it stops draining its ring and stops heartbeating, like a
   * stopped process (or a long GC pause); the failure detector marks it down
   * after failureTimeoutMs. `resume` lets it go on with what queued up.
   */
  pause(nodeId: number): this {
    this.linkOf(nodeId).stats[NodeStat.PAUSED] = 1;
    return this;
  }

  resume(nodeId: number): this {
    this.linkOf(nodeId).stats[NodeStat.PAUSED] = 0;
    return this;
  }

  /** Remove every fault of one node (or of all nodes), resuming paused ones. */
  clear(nodeId?: number): this {
    for (const id of nodeId === undefined ? this.nodeIds() : [nodeId]) {
      const link = this.linkOf(id);
      link.faults = undefined;
      link.stats[NodeStat.PAUSED] = 0;
    }
    return this;
  }

  private plan(nodeId: number): LinkFaults {
    const link = this.linkOf(nodeId);
    link.faults ??= {
      prng: new Prng(deriveSeed(this.seedValue, nodeId)),
      dropProbability: 0,
      duplicateProbability: 0,
      delayProbability: 0,
      delayMsMin: 0,
      delayMsMax: 0,
    };
    return link.faults;
  }
}

function checkProbability(probability: number): number {
  if (typeof probability !== 'number' || !(probability >= 0 && probability <= 1)) throw invalid(`probability must be in [0, 1], got ${String(probability)}`);
  return probability;
}

function invalid(message: string): RingtableError {
  return new RingtableError(ErrorCode.INVALID_OPTIONS, message);
}
