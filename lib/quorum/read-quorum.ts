/**
 * Decides when a replicated read is complete and what it must repair, in the
 * manner of riak_kv_get_core: replies go in, a decision comes out as data, and
 * the messaging stays with the caller (Dynamo §4.5 reads, §5 read repair).
 * Generic over the version type so that it stays free of encoding concerns.
 */
import assert from 'node:assert/strict';
import { QUORUM_REPLICAS_MAX, type QuorumStatus, positionOf } from './write-quorum.js';

export interface VersionOps<T> {
  /** Least upper bound of two versions (DVVSet sync). */
  merge(a: T, b: T): T;
  /** Same causal history. */
  equal(a: T, b: T): boolean;
  /**
   * The merge as it is answered and repaired with, when it may outgrow what
   * one version holds (a DVVSet merge of R replicas' clocks: truncated as a
   * replica would). Identity if absent.
   */
  bound?(merged: T): T;
}

export interface ReadRepair<T> {
  node: number;
  /** The merged version the replica must receive. */
  version: T;
}

export class ReadQuorum<T> {
  readonly replicas: ArrayLike<number>;
  readonly required: number;
  private readonly ops: VersionOps<T>;
  /** By replica position: its version, or null when it holds nothing for the key. */
  private readonly versions: (T | null | undefined)[];
  private answeredMask = 0;
  private failedMask = 0;
  private replies = 0;
  private failures = 0;
  private merged: T | undefined;

  constructor(replicas: ArrayLike<number>, required: number, ops: VersionOps<T>) {
    if (!(replicas.length <= QUORUM_REPLICAS_MAX)) assert.fail(`at most ${QUORUM_REPLICAS_MAX} replicas`);
    if (!(required >= 1 && required <= replicas.length)) assert.fail(`R=${required} must be within 1..${replicas.length}`);
    this.replicas = replicas;
    this.required = required;
    this.ops = ops;
    this.versions = new Array(replicas.length);
  }

  /** A replica answered; `version` undefined means it holds nothing for the key. */
  reply(node: number, version: T | undefined): QuorumStatus {
    const position = this.settle(node);
    this.answeredMask |= 1 << position;
    this.replies++;
    this.versions[position] = version ?? null;
    if (version !== undefined) this.merged = this.merged === undefined ? version : this.ops.merge(this.merged, version);
    return this.status();
  }

  fail(node: number): QuorumStatus {
    this.failedMask |= 1 << this.settle(node);
    this.failures++;
    return this.status();
  }

  /** Whether `node` answered or failed already: it must not be counted again. */
  heard(node: number): boolean {
    return ((this.answeredMask | this.failedMask) & (1 << positionOf(this.replicas, node))) !== 0;
  }

  private settle(node: number): number {
    const position = positionOf(this.replicas, node);
    if (((this.answeredMask | this.failedMask) & (1 << position)) !== 0) assert.fail(`node ${node} answered twice`);
    return position;
  }

  get answered(): number {
    return this.replies;
  }

  get settled(): boolean {
    return this.replies + this.failures === this.replicas.length;
  }

  status(): QuorumStatus {
    if (this.replies >= this.required) return 'succeeded';
    if (this.replicas.length - this.failures < this.required) return 'failed';
    return 'pending';
  }

  /** The newest version among the replies: every concurrent sibling survives the merge (bounded by `ops.bound`). */
  result(): T | undefined {
    const merged = this.merged;
    return merged === undefined || this.ops.bound === undefined ? merged : this.ops.bound(merged);
  }

  /**
   * Replicas that answered with a stale or missing version, and what to send
   * them. Only replicas that answered are repaired: a silent one may be down,
   * which is anti-entropy's and hinted handoff's business (Dynamo §4.6, §4.7).
   */
  repairs(): ReadRepair<T>[] {
    const merged = this.result();
    if (merged === undefined || this.replies < 2) return [];
    const repairs: ReadRepair<T>[] = [];
    for (let i = 0; i < this.replicas.length; i++) {
      if ((this.answeredMask & (1 << i)) === 0) continue;
      const version = this.versions[i];
      if (version === null || version === undefined || !this.ops.equal(version, merged)) repairs.push({ node: this.replicas[i]!, version: merged });
    }
    return repairs;
  }

  /** Every replica asked answered with the same version: they agree. */
  unanimous(): boolean {
    return this.replies === this.replicas.length && this.merged !== undefined && this.repairs().length === 0;
  }
}
