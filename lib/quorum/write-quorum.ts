/**
 * Decides when a replicated write is complete (Dynamo §4.5: the coordinator
 * waits for W acknowledgements out of the N replicas it wrote to). Pure: the
 * caller feeds it acknowledgements and failures and asks what they mean.
 * Replica answers are bits by position in the replica list: no allocation per
 * answer on the per-request path. Checks build their message only when they
 * fail (`if (...) assert.fail(message)`): assert.ok with a template-string
 * message builds that string on every call, and in a putMany batch those
 * strings were 1.8 KB of the 3.4 KB the coordinator allocated per key (a
 * sampling heap profile of an lww run), all of it garbage for the scavenger.
 */
import assert from 'node:assert/strict';
import { QUORUM_REPLICAS_MAX } from '../bounds.js';

export type QuorumStatus = 'pending' | 'succeeded' | 'failed';

/** Bitmasks by replica position bound the replica count (lib/bounds.ts). */
export { QUORUM_REPLICAS_MAX };

export function positionOf(replicas: ArrayLike<number>, node: number): number {
  for (let i = 0; i < replicas.length; i++) if (replicas[i] === node) return i;
  assert.fail(`node ${node} was not asked`);
}

export function bitCount(mask: number): number {
  let count = 0;
  for (let m = mask; m !== 0; m &= m - 1) count++;
  return count;
}

export class WriteQuorum {
  readonly replicas: ArrayLike<number>;
  readonly required: number;
  private ackedMask = 0;
  private failedMask = 0;
  private acked = 0;
  private failed = 0;

  constructor(replicas: ArrayLike<number>, required: number) {
    if (!(replicas.length <= QUORUM_REPLICAS_MAX)) assert.fail(`at most ${QUORUM_REPLICAS_MAX} replicas`);
    if (!(required >= 1 && required <= replicas.length)) assert.fail(`W=${required} must be within 1..${replicas.length}`);
    this.replicas = replicas;
    this.required = required;
  }

  ack(node: number): QuorumStatus {
    this.ackedMask |= this.settle(node);
    this.acked++;
    return this.status();
  }

  fail(node: number): QuorumStatus {
    this.failedMask |= this.settle(node);
    this.failed++;
    return this.status();
  }

  private settle(node: number): number {
    const bit = 1 << positionOf(this.replicas, node);
    if (((this.ackedMask | this.failedMask) & bit) !== 0) assert.fail(`node ${node} answered twice`);
    return bit;
  }

  /** Has `node` answered (acknowledged or failed)? */
  hasAnswered(node: number): boolean {
    return ((this.ackedMask | this.failedMask) & (1 << positionOf(this.replicas, node))) !== 0;
  }

  get answered(): number {
    return this.acked;
  }

  /** Every replica has acknowledged or failed: nothing more will arrive. */
  get settled(): boolean {
    return this.acked + this.failed === this.replicas.length;
  }

  /** Every replica holds the write: the condition for purging a tombstone. */
  get allAcked(): boolean {
    return this.acked === this.replicas.length;
  }

  status(): QuorumStatus {
    if (this.acked >= this.required) return 'succeeded';
    if (this.replicas.length - this.failed < this.required) return 'failed';
    return 'pending';
  }
}

/**
 * The same decision as WriteQuorum for every item of a batch at once, kept in
 * typed arrays: a putMany of a million keys tracks its quorums without a
 * million objects. Positions index each item's replica list.
 */
export class WriteQuorumTable {
  private readonly ackedMask: Uint32Array;
  private readonly failedMask: Uint32Array;
  private readonly required: Uint8Array;
  readonly replicasPerItem: number;

  constructor(items: number, replicasPerItem: number) {
    assert.ok(replicasPerItem >= 1 && replicasPerItem <= QUORUM_REPLICAS_MAX);
    this.ackedMask = new Uint32Array(items);
    this.failedMask = new Uint32Array(items);
    this.required = new Uint8Array(items);
    this.replicasPerItem = replicasPerItem;
  }

  /** Forget every answer of an item: it starts again, with another coordinator. */
  reset(item: number): void {
    this.ackedMask[item] = 0;
    this.failedMask[item] = 0;
  }

  setRequired(item: number, required: number): void {
    if (!(required >= 1 && required <= this.replicasPerItem)) assert.fail(`W=${required} must be within 1..${this.replicasPerItem}`);
    this.required[item] = required;
  }

  ack(item: number, position: number): QuorumStatus {
    this.ackedMask[item] = this.acked(item) | this.settle(item, position);
    return this.status(item);
  }

  fail(item: number, position: number): QuorumStatus {
    this.failedMask[item] = this.failed(item) | this.settle(item, position);
    return this.status(item);
  }

  /** The replicas of `item` that acknowledged, one bit each. */
  private acked(item: number): number {
    const mask = this.ackedMask[item];
    if (mask === undefined) assert.fail(`no item ${item} in this batch`);
    return mask;
  }

  private failed(item: number): number {
    const mask = this.failedMask[item];
    if (mask === undefined) assert.fail(`no item ${item} in this batch`);
    return mask;
  }

  private settle(item: number, position: number): number {
    assert.ok(position >= 0 && position < this.replicasPerItem);
    const bit = 1 << position;
    if (((this.acked(item) | this.failed(item)) & bit) !== 0) assert.fail(`item ${item}: replica ${position} answered twice`);
    return bit;
  }

  hasAnswered(item: number, position: number): boolean {
    return ((this.acked(item) | this.failed(item)) & (1 << position)) !== 0;
  }

  answered(item: number): number {
    return bitCount(this.acked(item));
  }

  settled(item: number): boolean {
    return bitCount(this.acked(item) | this.failed(item)) === this.replicasPerItem;
  }

  status(item: number): QuorumStatus {
    const required = this.required[item];
    if (required === undefined || required <= 0) assert.fail(`item ${item} has no W`);
    if (bitCount(this.acked(item)) >= required) return 'succeeded';
    if (this.replicasPerItem - bitCount(this.failed(item)) < required) return 'failed';
    return 'pending';
  }
}
