/**
 * ringtable itself, through its public API: get, put without context (a
 * blind overwrite), getMany for scans, and get-then-put-with-context for
 * read-modify-write. The same code drives the postMessage-transport baseline.
 */
import { ErrorCode, type GetResult, type Key, type PutManyEntry, RingtableError, Store } from '../../../lib/index.js';
import type { StoreShape } from '../bench-report.js';
import type { KeySpace } from '../key-space.js';
import type { KvTarget, Outcome } from './kv-target.js';
import { missingOrChecked } from './value-check.js';

/**
 * Loading: one putMany call of LOAD_BATCH_START records at a time. More calls
 * in flight, or larger ones, do not load faster on a 2-core machine, and the
 * W < N replications that outlive each call pile up at the nodes until later
 * calls time out. A machine too busy to acknowledge even that within the
 * store's timeout gets smaller batches: the store is let drain, the failed
 * range is written again (blind puts are idempotent), and every later call
 * is half the size, down to LOAD_BATCH_MIN. Each retry is reported.
 */
const LOAD_BATCH_START = 2000;
const LOAD_BATCH_MIN = 250;
const LOAD_RETRIES_MAX = 8;
/** Longest wait for the store's background work before a retry. */
const DRAIN_WAIT_MS = 10_000;

export class RingtableTarget implements KvTarget {
  readonly name: string;
  readonly description: string;
  readonly store: Store;
  private readonly keys: KeySpace;
  /** Each key number's key as this run hands it to ringtable (KeySpace.keysInForm: --key-form). */
  private readonly keyObjects: readonly Key[];
  private loadBatch = LOAD_BATCH_START;
  /** Load batches that failed because the store was too busy, and were written again (reported as a note). */
  readonly loadRetries: string[] = [];

  private constructor(name: string, store: Store, keys: KeySpace, shape: StoreShape) {
    this.name = name;
    this.store = store;
    this.keys = keys;
    this.keyObjects = keys.keysInForm();
    const transport = shape.transport === 'sab' ? 'SharedArrayBuffer rings' : 'postMessage';
    this.description = `ringtable Store, ${shape.nodes} nodes over ${transport}, N=${shape.n} R=${shape.r} W=${shape.w}, durability ${shape.durability}; keys as ${keys.keyForm}; get / put / getMany / get+put(context), operations in flight up to the concurrency`;
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
      readPath: shape.readPath,
      readBalance: shape.readBalance,
      ...(shape.hotKeyCacheEntries === undefined ? {} : { hotKeyCache: { entriesMax: shape.hotKeyCacheEntries } }),
      ...(shape.nodeThreadNice === undefined ? {} : { nodeThreadNice: shape.nodeThreadNice }),
    });
    return new RingtableTarget(name, store, keys, shape);
  }

  async load(from: number, to: number, loaded?: (count: number) => void): Promise<void> {
    for (let start = from; start < to; ) {
      const end = Math.min(to, start + this.loadBatch);
      await this.loadRange(start, end);
      loaded?.(end - from);
      start = end;
    }
  }

  private async loadRange(start: number, end: number): Promise<void> {
    const entries = new Array<PutManyEntry>(end - start);
    for (let k = start; k < end; k++) entries[k - start] = [this.keyObjects[k]!, this.keys.loadValue(k)];
    for (let attempt = 0; ; attempt++) {
      try {
        await this.store.putMany(entries);
        return;
      } catch (error) {
        const busy = error instanceof RingtableError && (error.code === ErrorCode.TIMEOUT || error.code === ErrorCode.OVERLOADED);
        if (!busy || attempt >= LOAD_RETRIES_MAX) throw error;
        this.loadRetries.push(`${end - start} records failed with ${(error as RingtableError).code}, written again`);
        this.loadBatch = Math.max(LOAD_BATCH_MIN, this.loadBatch >> 1);
        await drained(this.store, DRAIN_WAIT_MS);
      }
    }
  }

  read(keyNumber: number): Outcome {
    return this.store.get(this.keyObjects[keyNumber]!);
  }

  missingOf(result: unknown): number {
    return this.checked(result as GetResult | undefined);
  }

  write(keyNumber: number, value: Uint8Array): Outcome {
    return this.store.put(this.keyObjects[keyNumber]!, value);
  }

  scan(from: number, to: number): Outcome {
    return this.store.getMany(this.keyObjects.slice(from, to)).then((results) => {
      let missing = 0;
      for (const result of results) missing += this.checked(result);
      return missing;
    });
  }

  readModifyWrite(keyNumber: number, value: Uint8Array): Outcome {
    const key = this.keyObjects[keyNumber]!;
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

/**
 * Wait (bounded) until the store has nothing in flight: no callers waiting,
 * no replications or repairs that outlived their callers, empty node queues.
 * Returns whether it got there in time.
 */
export async function drained(store: Store, waitMsMax: number): Promise<boolean> {
  const giveUpMs = performance.now() + waitMsMax;
  for (;;) {
    const stats = store.stats();
    if (stats.background === 0 && stats.pending === 0 && stats.nodes.every((node) => node.queueDepth === 0)) return true;
    if (performance.now() >= giveUpMs) return false;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
