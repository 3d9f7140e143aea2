/**
 * Decides when a replicated read is complete and what it must repair, in the
 * manner of riak_kv_get_core: replies go in, a decision comes out as data, and
 * the messaging stays with the caller (Dynamo §4.5 reads, §5 read repair).
 * Generic over the version type so that it stays free of encoding concerns.
 */
import assert from 'node:assert/strict';
import type { QuorumStatus } from './write-quorum.js';

export interface VersionOps<T> {
  /** Least upper bound of two versions (DVVSet sync). */
  merge(a: T, b: T): T;
  /** Same causal history. */
  equal(a: T, b: T): boolean;
}

export interface ReadRepair<T> {
  node: number;
  /** The merged version the replica must receive. */
  version: T;
}

export class ReadQuorum<T> {
  readonly replicas: readonly number[];
  readonly required: number;
  private readonly ops: VersionOps<T>;
  /** node -> its version, or null when it has no version of the key. */
  private readonly replies = new Map<number, T | null>();
  private readonly failed = new Set<number>();
  private merged: T | undefined;

  constructor(replicas: readonly number[], required: number, ops: VersionOps<T>) {
    assert.ok(required >= 1 && required <= replicas.length, `R=${required} must be within 1..${replicas.length}`);
    this.replicas = replicas;
    this.required = required;
    this.ops = ops;
  }

  /** A replica answered; `version` undefined means it holds nothing for the key. */
  reply(node: number, version: T | undefined): QuorumStatus {
    this.settle(node);
    this.replies.set(node, version ?? null);
    if (version !== undefined) this.merged = this.merged === undefined ? version : this.ops.merge(this.merged, version);
    return this.status();
  }

  fail(node: number): QuorumStatus {
    this.settle(node);
    this.failed.add(node);
    return this.status();
  }

  private settle(node: number): void {
    assert.ok(this.replicas.includes(node), `node ${node} was not asked`);
    assert.ok(!this.replies.has(node) && !this.failed.has(node), `node ${node} answered twice`);
  }

  get answered(): number {
    return this.replies.size;
  }

  get settled(): boolean {
    return this.replies.size + this.failed.size === this.replicas.length;
  }

  status(): QuorumStatus {
    if (this.replies.size >= this.required) return 'succeeded';
    if (this.replicas.length - this.failed.size < this.required) return 'failed';
    return 'pending';
  }

  /** The newest version among the replies: every concurrent sibling survives the merge. */
  result(): T | undefined {
    return this.merged;
  }

  /**
   * Replicas that answered with a stale or missing version, and what to send
   * them. Only replicas that answered are repaired: a silent one may be down,
   * which is anti-entropy's and hinted handoff's business (Dynamo §4.6, §4.7).
   */
  repairs(): ReadRepair<T>[] {
    const merged = this.merged;
    if (merged === undefined) return [];
    const repairs: ReadRepair<T>[] = [];
    for (const [node, version] of this.replies) {
      if (version === null || !this.ops.equal(version, merged)) repairs.push({ node, version: merged });
    }
    return repairs;
  }

  /** Every replica asked answered with the same version: they agree. */
  unanimous(): boolean {
    return this.replies.size === this.replicas.length && this.repairs().length === 0 && this.merged !== undefined;
  }
}
