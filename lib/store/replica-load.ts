/**
 * How many requests each node thread was handed lately, as the coordinator
 * counts them: the load that least-loaded read routing (routing.ts
 * leastLoadedReplicas) evens out. Pure: no clock; the counts decay by
 * halving every REPLICA_LOAD_HALF_LIFE requests, so a node that joined (or
 * came back) late catches up within a few half-lives instead of drawing
 * every read until its lifetime count matches the others'.
 *
 * Only requests that reach a node thread count: PUT and REPLICATE items,
 * GETs sent as messages, repairs and copies. A read served in place
 * (readPath 'direct') costs the calling thread, not the node's, and is not
 * counted. Writes go to all N replicas of a key, so under skew (a hot key's
 * writes land on its N nodes whatever the router does) only the reads'
 * choice of R among N can even the node threads' work out.
 */
import assert from 'node:assert/strict';

/** Requests counted between two halvings of every node's count. */
export const REPLICA_LOAD_HALF_LIFE = 65_536;

export class ReplicaLoad {
  private counts = new Float64Array(16);
  private sinceHalving = 0;

  /** One request handed to `node`'s thread. */
  add(node: number): void {
    if (!(Number.isInteger(node) && node >= 0)) assert.fail(`node must be an id >= 0, got ${node}`);
    if (node >= this.counts.length) this.grow(node);
    this.counts[node]!++;
    if (++this.sinceHalving < REPLICA_LOAD_HALF_LIFE) return;
    this.sinceHalving = 0;
    for (let i = 0; i < this.counts.length; i++) this.counts[i]! *= 0.5;
  }

  /** `node`'s recent requests (0 for a node never counted). */
  of(node: number): number {
    return node < this.counts.length ? this.counts[node]! : 0;
  }

  private grow(node: number): void {
    let length = this.counts.length;
    while (length <= node) length *= 2;
    const counts = new Float64Array(length);
    counts.set(this.counts);
    this.counts = counts;
  }
}
