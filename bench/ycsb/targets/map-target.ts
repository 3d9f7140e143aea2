/**
 * An in-process Map: the ceiling for a cache in this process. Values are
 * msgpack-encoded on write and decoded on read with ringtable's own Packr
 * options (bench/lib/workloads.ts valuePackr), so the Map does the same value
 * work as the store and the ratio measures everything else (routing, quorums,
 * threads, LMDB). Every operation is synchronous: the driver runs them back
 * to back, one in flight, yielding to the event loop every few hundred.
 */
import { valuePackr } from '../../lib/workloads.js';
import type { KeySpace } from '../key-space.js';
import type { KvTarget, Outcome } from './kv-target.js';
import { missingOrChecked } from './value-check.js';

export class MapTarget implements KvTarget {
  readonly name = 'map';
  readonly description = 'in-process Map<string, msgpack bytes> (same value encoding as ringtable), synchronous: one operation at a time';
  private readonly map = new Map<string, Uint8Array>();
  private readonly keys: KeySpace;

  constructor(keys: KeySpace) {
    this.keys = keys;
  }

  async load(from: number, to: number, loaded?: (count: number) => void): Promise<void> {
    for (let k = from; k < to; k++) this.map.set(this.keys.names[k]!, valuePackr.pack(this.keys.loadValue(k)));
    loaded?.(to - from);
  }

  read(keyNumber: number): Outcome {
    return this.readName(this.keys.names[keyNumber]!);
  }

  private readName(name: string): number {
    const bytes = this.map.get(name);
    return missingOrChecked(bytes === undefined ? undefined : valuePackr.unpack(bytes), this.keys.valueBytes);
  }

  write(keyNumber: number, value: Uint8Array): Outcome {
    this.map.set(this.keys.names[keyNumber]!, valuePackr.pack(value));
    return 0;
  }

  scan(from: number, to: number): Outcome {
    let missing = 0;
    for (let k = from; k < to; k++) missing += this.readName(this.keys.names[k]!);
    return missing;
  }

  readModifyWrite(keyNumber: number, value: Uint8Array): Outcome {
    const missing = this.read(keyNumber) as number;
    this.write(keyNumber, value);
    return missing;
  }

  async close(): Promise<void> {
    this.map.clear();
  }
}
