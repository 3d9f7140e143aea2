/**
 * The replications of this coordinator's puts still on their way: what lets
 * it leave out a read repair that would send a replica exactly the object a
 * put of the same key is already sending it.
 *
 * Why: a put answers once W replicas acknowledged (Dynamo §4.5), while its
 * REPLICATE to the others may still sit in their rings. A read in place of
 * the key in that window finds such a replica behind and repaired it with
 * the very bytes in flight: in YCSB-B plain zipfian (N=3 R=2 W=2, 95% reads)
 * 122K repairs per 1M operations, most of them such copies (bench/README.md,
 * sessions s11 and s12), each a write in a node's commit; and the slower the
 * nodes, the longer the window and the more repairs, which slow them more.
 * The REPLICATE carries the same object to the same node, so whichever of
 * the two the node applied second would change nothing (sync of an object
 * with itself). Only byte-identical objects count as covered: anything
 * else (a merge, another coordinator's write) is repaired as before. Read
 * repair is best effort either way (Dynamo §5); if the REPLICATE fails, the
 * put's own failure handling applies, as it would to the repair.
 *
 * Bounded by the operations in flight (pendingMax and the background bound):
 * a put is added when it sends its replications and removed when it settles
 * or expires. Pure: the coordinator feeds it and asks it.
 */
import { Buffer } from 'node:buffer';
import type { WireKey } from '../transport/wire.js';

/** What a put in flight tells about its replications (put-operation.ts). */
export interface ReplicatingPut {
  readonly key: WireKey;
  /** The object its replicas are sent, once the coordinating node answered. */
  readonly objectBytes: Uint8Array | undefined;
  /** Whether `target` was sent that object and has not answered yet. */
  awaitsReplica(target: number): boolean;
}

export class ReplicatesInFlight {
  /** By the key's ring hash (hash.ts hashKey32); a list, since keys may share one. */
  private readonly byHash = new Map<number, ReplicatingPut[]>();

  get size(): number {
    return this.byHash.size;
  }

  add(hash32: number, put: ReplicatingPut): void {
    const puts = this.byHash.get(hash32);
    if (puts === undefined) this.byHash.set(hash32, [put]);
    else if (!puts.includes(put)) puts.push(put);
  }

  remove(hash32: number, put: ReplicatingPut): void {
    const puts = this.byHash.get(hash32);
    if (puts === undefined) return;
    const at = puts.indexOf(put);
    if (at < 0) return;
    if (puts.length === 1) this.byHash.delete(hash32);
    else puts.splice(at, 1);
  }

  /** Whether a put of `key` in flight is sending `target` exactly `objectBytes`: then a repair with them would change nothing. */
  covers(hash32: number, key: WireKey, target: number, objectBytes: Uint8Array): boolean {
    const puts = this.byHash.get(hash32);
    if (puts === undefined) return false;
    for (const put of puts) {
      const sent = put.objectBytes;
      if (sent === undefined || !sameKey(put.key, key) || !put.awaitsReplica(target)) continue;
      if (sent.byteLength === objectBytes.byteLength && Buffer.compare(sent, objectBytes) === 0) return true;
    }
    return false;
  }

  clear(): void {
    this.byHash.clear();
  }
}

/** The same key given the same way (a string and its UTF-8 bytes are one key too, but rare here: such a pair is simply not covered). */
function sameKey(a: WireKey, b: WireKey): boolean {
  if (typeof a === 'string' || typeof b === 'string') return a === b;
  return a.byteLength === b.byteLength && Buffer.compare(a, b) === 0;
}
