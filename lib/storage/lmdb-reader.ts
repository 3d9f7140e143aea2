/**
 * A read-only handle on a storage node's LMDB environment from another thread
 * of the same process (readPath 'direct'). lmdb-js shares one environment per
 * file within a process and the first opener's flags win, so this opens with
 * the node's own flags (lmdbOpenOptions) and only once the node has opened it:
 * whichever opens first, the environment is the one the node writes through.
 *
 * Snapshots: lmdb-js keeps one read transaction per environment and thread,
 * renewed at most once per macrotask. A node's commit that this thread has
 * already been told of (its answer was dispatched) must be visible to the
 * next read here, or a get after an acknowledged put could miss it: `renew()`
 * drops the snapshot, and the next read takes a fresh one.
 */
import { open, type Database, type RootDatabase } from 'lmdb';
import { lmdbOpenOptions, nodeDirectory } from './lmdb-storage.js';
import type { Durability } from './storage-engine.js';

export class LmdbReader {
  private readonly root: RootDatabase;
  private readonly objects: Database<Uint8Array, Uint8Array>;
  private closed = false;

  constructor(path: string, nodeId: number, durability: Durability) {
    this.root = open(lmdbOpenOptions(nodeDirectory(path, nodeId), durability));
    this.objects = this.root.openDB<Uint8Array, Uint8Array>({ name: 'objects', encoding: 'binary', keyEncoding: 'binary' });
    // A string key is written as UTF-8 (what the node stores it as) straight
    // into lmdb-js's key buffer: no Buffer per read (Buffer.from was 6% of a
    // read-only run's main thread). Keys are at most keyBytesMax (< 2 KB) of
    // the 4 KB key buffer.
    const keyed = this.objects as unknown as { writeKey: (key: Uint8Array | string, target: Buffer, start: number) => number };
    const writeBytes = keyed.writeKey;
    keyed.writeKey = (key, target, start) => (typeof key === 'string' ? start + target.write(key, start, 'utf8') : writeBytes(key, target, start));
  }

  /**
   * The stored bytes, or undefined. lmdb-js's reused read buffer: valid only
   * until the next read on this thread (copy what you keep).
   */
  get(key: Uint8Array | string): Buffer | undefined {
    return this.objects.getBinaryFast(key as Buffer);
  }

  /** The next read sees every commit made until now. */
  renew(): void {
    this.root.resetReadTxn();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.root.close();
  }
}
