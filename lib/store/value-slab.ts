/**
 * Memory for one putMany's encoded values: views into shared chunks instead
 * of an ArrayBuffer each. A fresh Uint8Array of a 100-byte value's 104
 * encoded bytes has its own off-heap backing store, which V8 allocates,
 * tracks as external memory and frees one by one: 0.5-0.8 µs per value,
 * against 0.07-0.13 µs for a view into a chunk (a micro-benchmark of
 * 10,000-value batches, allocation and copy). The batch holds its values
 * until sent to every replica (operations.ts PutBatch lets a minted item's
 * go then), so a chunk lives until its last view went out, at most as long
 * as the batch; nothing else keeps them (the replicas' envelopes copy them).
 * The values lie in the chunks in the batch's own order, the order it sends
 * them in; its keys are copied into a buffer of their own (put-many-items.ts).
 */

/** One chunk's bytes: a 10,000-key batch of 100-byte values takes 16 of them. */
export const VALUE_SLAB_CHUNK_BYTES = 64 * 1024;
/** A value larger than this gets its own memory: it would waste most of a chunk's tail, and its allocation costs little per byte. */
export const VALUE_SLAB_ITEM_BYTES_MAX = VALUE_SLAB_CHUNK_BYTES / 4;

/** Chunks a coordinator keeps for its next putMany: 2 MiB, more than a 10,000-key batch of 100-byte values takes. */
export const SLAB_CHUNKS_KEPT_MAX = 32;

/**
 * Chunks of batches that ended, for the next batches' slabs (a
 * coordinator's; at most SLAB_CHUNKS_KEPT_MAX). A fresh chunk is an
 * ArrayBuffer of its own, freed only after a scavenge, and V8 counts
 * ArrayBuffer memory allocated since the last mark-compact against the old
 * generation's limit: 1.5 MB of chunks per 10,000-key batch, with a large
 * live heap beside (put-many.bench's data sets), started mark-compacts of
 * the whole heap on V8's helper threads.
 */
export class SlabChunks {
  private readonly free: Buffer[] = [];

  get freeCount(): number {
    return this.free.length;
  }

  /** A zeroed chunk: a kept one, else a new one. */
  take(): Buffer {
    const chunk = this.free.pop();
    if (chunk === undefined) return Buffer.alloc(VALUE_SLAB_CHUNK_BYTES);
    chunk.fill(0);
    return chunk;
  }

  /** Chunks no view of which is read or written again: kept while there is room. */
  keep(chunks: readonly Buffer[]): void {
    for (let i = 0; i < chunks.length && this.free.length < SLAB_CHUNKS_KEPT_MAX; i++) this.free.push(chunks[i]!);
  }
}

export class ValueSlab {
  /**
   * The chunk the last take() of at most VALUE_SLAB_ITEM_BYTES_MAX came
   * from, and a DataView over it: for a caller that writes a message into
   * its view in place (at the view's byteOffset), with encoders that take a
   * Buffer and a DataView (store/put-many-items.ts, a minted item's message).
   */
  chunk: Buffer = Buffer.alloc(0);
  chunkView = new DataView(this.chunk.buffer, 0, 0);
  private usedBytes = 0;
  /** With `chunks`: every chunk this slab took, for release. */
  private readonly taken: Buffer[] | undefined;

  /** `chunks`: where chunks come from and go back to (release); without it, each chunk is new and left to the collector. */
  constructor(private readonly chunks?: SlabChunks) {
    this.taken = chunks === undefined ? undefined : [];
  }

  /**
   * The batch is over and nothing reads or writes any view this slab gave
   * out (each was copied into the requests that carried it): its chunks
   * serve the next slab.
   */
  release(): void {
    if (this.chunks === undefined || this.taken!.length === 0) return;
    this.chunks.keep(this.taken!);
    this.taken!.length = 0;
    this.chunk = Buffer.alloc(0);
    this.chunkView = new DataView(this.chunk.buffer, 0, 0);
    this.usedBytes = 0;
  }

  /** `bytes` of zeroed memory that no other view of this slab overlaps. */
  take(bytes: number): Uint8Array {
    if (bytes > VALUE_SLAB_ITEM_BYTES_MAX) return new Uint8Array(bytes);
    if (this.usedBytes + bytes > this.chunk.byteLength) {
      // Buffer.alloc of a chunk this large has memory of its own (not Node's shared pool), zeroed, at offset 0.
      this.chunk = this.chunks === undefined ? Buffer.alloc(VALUE_SLAB_CHUNK_BYTES) : this.chunks.take();
      this.taken?.push(this.chunk);
      this.chunkView = new DataView(this.chunk.buffer, this.chunk.byteOffset, this.chunk.byteLength);
      this.usedBytes = 0;
    }
    const out = new Uint8Array(this.chunk.buffer, this.chunk.byteOffset + this.usedBytes, bytes);
    this.usedBytes += bytes;
    return out;
  }
}
