/**
 * ringtable itself, through its public API: get, put without context (a
 * blind overwrite), getMany for scans, and get-then-put-with-context for
 * read-modify-write. The same code drives the postMessage-transport baseline.
 */
import { type GetResult, type PutManyEntry, Store } from '../../../lib/index.js';
import type { StoreShape } from '../bench-report.js';
import type { KeySpace } from '../key-space.js';
import type { KvTarget, Outcome } from './kv-target.js';
import { missingOrChecked } from './value-check.js';

/** Records per putMany call while loading, and calls in flight: deep node queues, large group commits. */
const LOAD_BATCH = 10_000;
const LOAD_CALLS_IN_FLIGHT = 2;

export class RingtableTarget implements KvTarget {
  readonly name: string;
  readonly description: string;
  readonly store: Store;
  private readonly keys: KeySpace;

  private constructor(name: string, store: Store, keys: KeySpace, shape: StoreShape) {
    this.name = name;
    this.store = store;
    this.keys = keys;
    const transport = shape.transport === 'sab' ? 'SharedArrayBuffer rings' : 'postMessage';
    this.description = `ringtable Store, ${shape.nodes} nodes over ${transport}, N=${shape.n} R=${shape.r} W=${shape.w}, durability ${shape.durability}; get / put / getMany / get+put(context), operations in flight up to the concurrency`;
  }

  static async open(name: string, path: string, shape: StoreShape, keys: KeySpace): Promise<RingtableTarget> {
    const store = await Store.open({
      path,
      nodes: shape.nodes,
      vnodes: shape.vnodes,
      replication: { n: shape.n, r: shape.r, w: shape.w },
      durability: shape.durability,
      conflicts: shape.conflicts,
      transport: shape.transport,
    });
    return new RingtableTarget(name, store, keys, shape);
  }

  async load(from: number, to: number, loaded?: (count: number) => void): Promise<void> {
    let next = from;
    let done = 0;
    const caller = async () => {
      while (next < to) {
        const start = next;
        const end = Math.min(to, start + LOAD_BATCH);
        next = end;
        const entries = new Array<PutManyEntry>(end - start);
        for (let k = start; k < end; k++) entries[k - start] = [this.keys.names[k]!, this.keys.loadValue(k)];
        await this.store.putMany(entries);
        done += end - start;
        loaded?.(done);
      }
    };
    await Promise.all(Array.from({ length: LOAD_CALLS_IN_FLIGHT }, caller));
  }

  read(keyNumber: number): Outcome {
    return this.store.get(this.keys.names[keyNumber]!).then(this.checked);
  }

  write(keyNumber: number, value: Uint8Array): Outcome {
    return this.store.put(this.keys.names[keyNumber]!, value).then(() => 0);
  }

  scan(from: number, to: number): Outcome {
    return this.store.getMany(this.keys.names.slice(from, to)).then((results) => {
      let missing = 0;
      for (const result of results) missing += this.checked(result);
      return missing;
    });
  }

  readModifyWrite(keyNumber: number, value: Uint8Array): Outcome {
    const key = this.keys.names[keyNumber]!;
    return this.store.get(key).then((result) => {
      const missing = this.checked(result);
      const written = result === undefined ? this.store.put(key, value) : this.store.put(key, value, { context: result.context });
      return written.then(() => missing);
    });
  }

  private readonly checked = (result: GetResult | undefined): number => missingOrChecked(result?.value, this.keys.valueBytes);

  close(): Promise<void> {
    return this.store.close();
  }
}
