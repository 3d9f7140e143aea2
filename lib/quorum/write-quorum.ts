/**
 * Decides when a replicated write is complete (Dynamo §4.5: the coordinator
 * waits for W acknowledgements out of the N replicas it wrote to). Pure: the
 * caller feeds it acknowledgements and failures and asks what they mean.
 * Replica answers are bits by position in the replica list: no allocation per
 * answer on the per-request path.
 */
import assert from 'node:assert/strict';

export type QuorumStatus = 'pending' | 'succeeded' | 'failed';

/** Bitmasks by replica position bound the replica count. */
export const QUORUM_REPLICAS_MAX = 30;

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
    assert.ok(replicas.length <= QUORUM_REPLICAS_MAX, `at most ${QUORUM_REPLICAS_MAX} replicas`);
    assert.ok(required >= 1 && required <= replicas.length, `W=${required} must be within 1..${replicas.length}`);
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
    assert.ok(((this.ackedMask | this.failedMask) & bit) === 0, `node ${node} answered twice`);
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
