/**
 * A storage node's answer to a write envelope (wire.ts, Op.WRITE_BATCH): it
 * gathers the items' answers, which come as their writes commit, and sends
 * them on in PARTIAL chunks of at most CHUNK_BYTES_TARGET and a last OK. A
 * chunk is never larger than one item's answer needs, so no answer outgrows
 * what a single request's would.
 */
import assert from 'node:assert/strict';
import { ENVELOPE_HEADER_BYTES, Op, Response, Status, align8, encodeResponseHeader } from '../transport/wire.js';
import type { ResponseSink } from './response-sink.js';

/** Keeps a chunk well inside a ring record (a quarter of a 1 MiB ring): no fragmenting in the common case. */
export const CHUNK_BYTES_TARGET = 128 * 1024;

export class EnvelopeAnswer {
  private readonly sink: ResponseSink;
  private readonly requestId: number;
  // Answers in the order given, in arrays sized for the whole envelope up
  // front (issue 15 target 4: four arrays grown item by item were garbage
  // on every replicated write). [sent, added) are not sent yet.
  private readonly ops: Uint8Array;
  private readonly statuses: Uint8Array;
  private readonly indexes: Uint32Array;
  /** Made at the first answer that carries a payload: most (a REPLICATE's) carry none. */
  private payloads: (Uint8Array | undefined)[] | undefined;
  private added = 0;
  private sent = 0;
  private pendingBytes = ENVELOPE_HEADER_BYTES;
  /** Item indexes answered so far: each exactly once. */
  private readonly answered: Uint8Array;

  constructor(sink: ResponseSink, requestId: number, itemCount: number) {
    this.sink = sink;
    this.requestId = requestId;
    this.ops = new Uint8Array(itemCount);
    this.statuses = new Uint8Array(itemCount);
    this.indexes = new Uint32Array(itemCount);
    this.answered = new Uint8Array(itemCount);
    if (itemCount === 0) this.flush(Status.OK);
  }

  get done(): boolean {
    return this.added === this.answered.length;
  }

  /** `payload` must stay unchanged until the answer is sent (it is not copied before). */
  add(op: number, status: number, index: number, payload: Uint8Array | undefined): void {
    if (!(index >= 0 && index < this.answered.length && this.answered[index] === 0)) assert.fail(`envelope item ${index} answered twice or out of range`);
    this.answered[index] = 1;
    const bytes = align8(Response.HEADER_BYTES + (payload?.byteLength ?? 0));
    if (this.added > this.sent && this.pendingBytes + bytes > CHUNK_BYTES_TARGET) this.flush(Status.PARTIAL);
    const slot = this.added++;
    this.ops[slot] = op;
    this.statuses[slot] = status;
    this.indexes[slot] = index;
    if (payload !== undefined) (this.payloads ??= new Array<Uint8Array | undefined>(this.answered.length))[slot] = payload;
    this.pendingBytes += bytes;
    if (this.added === this.answered.length) this.flush(Status.OK);
  }

  /** Send the answers given so far, as PARTIAL, if any wait (the rest follow). */
  sendAnswered(): void {
    if (this.added > this.sent && this.added < this.answered.length) this.flush(Status.PARTIAL);
  }

  private flush(status: number): void {
    const body = new Uint8Array(this.pendingBytes);
    const view = new DataView(body.buffer);
    view.setUint32(0, this.added - this.sent, true);
    let at = ENVELOPE_HEADER_BYTES;
    const payloads = this.payloads;
    for (let slot = this.sent; slot < this.added; slot++) {
      const payload = payloads?.[slot];
      const payloadBytes = payload?.byteLength ?? 0;
      encodeResponseHeader(view, at, this.ops[slot]!, this.statuses[slot]!, this.indexes[slot]!, payloadBytes);
      if (payload !== undefined) {
        body.set(payload, at + Response.HEADER_BYTES);
        // Sent: not kept alive by this answer any longer.
        payloads![slot] = undefined;
      }
      at += align8(Response.HEADER_BYTES + payloadBytes);
    }
    if (at !== body.byteLength) assert.fail(`envelope answer of ${at} bytes, ${body.byteLength} counted`);
    this.sent = this.added;
    this.pendingBytes = ENVELOPE_HEADER_BYTES;
    this.sink.respond(Op.WRITE_BATCH, status, this.requestId, body);
  }
}
