/**
 * Decides when a replicated write is complete (Dynamo §4.5: the coordinator
 * waits for W acknowledgements out of the N replicas it wrote to). Pure: the
 * caller feeds it acknowledgements and failures and asks what they mean.
 */
import assert from 'node:assert/strict';

export type QuorumStatus = 'pending' | 'succeeded' | 'failed';

export class WriteQuorum {
  readonly replicas: readonly number[];
  readonly required: number;
  private readonly acked = new Set<number>();
  private readonly failed = new Set<number>();

  constructor(replicas: readonly number[], required: number) {
    assert.ok(required >= 1 && required <= replicas.length, `W=${required} must be within 1..${replicas.length}`);
    assert.equal(new Set(replicas).size, replicas.length, 'replicas must be distinct');
    this.replicas = replicas;
    this.required = required;
  }

  ack(node: number): QuorumStatus {
    this.settle(node);
    this.acked.add(node);
    return this.status();
  }

  fail(node: number): QuorumStatus {
    this.settle(node);
    this.failed.add(node);
    return this.status();
  }

  private settle(node: number): void {
    assert.ok(this.replicas.includes(node), `node ${node} was not asked`);
    assert.ok(!this.acked.has(node) && !this.failed.has(node), `node ${node} answered twice`);
  }

  get answered(): number {
    return this.acked.size;
  }

  /** Every replica has acknowledged or failed: nothing more will arrive. */
  get settled(): boolean {
    return this.acked.size + this.failed.size === this.replicas.length;
  }

  /** Every replica holds the write: the condition for purging a tombstone. */
  get allAcked(): boolean {
    return this.acked.size === this.replicas.length;
  }

  status(): QuorumStatus {
    if (this.acked.size >= this.required) return 'succeeded';
    if (this.replicas.length - this.failed.size < this.required) return 'failed';
    return 'pending';
  }
}
