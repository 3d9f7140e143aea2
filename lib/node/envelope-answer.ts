/**
 * A storage node's answer to a write envelope (wire.ts, Op.WRITE_BATCH): it
 * gathers the items' answers, which come as their writes commit (or at once,
 * for an item refused on arrival), and sends them on in PARTIAL chunks of at
 * most CHUNK_BYTES_TARGET and a last OK. A chunk is never larger than one
 * item's answer needs, so no answer outgrows what a single request's would.
 */
import assert from 'node:assert/strict';
import { ENVELOPE_HEADER_BYTES, Op, Response, Status, align8, encodeResponseHeader } from '../transport/wire.js';
import type { ResponseSink } from './response-sink.js';

/** Keeps a chunk well inside a ring record (a quarter of a 1 MiB ring): no fragmenting in the common case. */
export const CHUNK_BYTES_TARGET = 128 * 1024;

export class EnvelopeAnswer {
  private readonly sink: ResponseSink;
  private readonly requestId: number;
  private remaining: number;
  /** Answers not yet sent: op, status, item index, payload. */
  private ops: number[] = [];
  private statuses: number[] = [];
  private indexes: number[] = [];
  private payloads: (Uint8Array | undefined)[] = [];
  private pendingBytes = ENVELOPE_HEADER_BYTES;
  /** Item indexes answered so far: each exactly once. */
  private readonly answered: Uint8Array;

  constructor(sink: ResponseSink, requestId: number, itemCount: number) {
    this.sink = sink;
    this.requestId = requestId;
    this.remaining = itemCount;
    this.answered = new Uint8Array(itemCount);
    if (itemCount === 0) this.flush(Status.OK);
  }

  get done(): boolean {
    return this.remaining === 0;
  }

  /** `payload` must stay unchanged until the answer is sent (it is not copied before). */
  add(op: number, status: number, index: number, payload: Uint8Array | undefined): void {
    assert.ok(index >= 0 && index < this.answered.length && this.answered[index] === 0, `envelope item ${index} answered twice or out of range`);
    this.answered[index] = 1;
    const bytes = align8(Response.HEADER_BYTES + (payload?.byteLength ?? 0));
    if (this.ops.length > 0 && this.pendingBytes + bytes > CHUNK_BYTES_TARGET) this.flush(Status.PARTIAL);
    this.ops.push(op);
    this.statuses.push(status);
    this.indexes.push(index);
    this.payloads.push(payload);
    this.pendingBytes += bytes;
    this.remaining--;
    if (this.remaining === 0) this.flush(Status.OK);
  }

  private flush(status: number): void {
    const body = new Uint8Array(this.pendingBytes);
    const view = new DataView(body.buffer);
    view.setUint32(0, this.ops.length, true);
    let at = ENVELOPE_HEADER_BYTES;
    for (let i = 0; i < this.ops.length; i++) {
      const payload = this.payloads[i];
      const payloadBytes = payload?.byteLength ?? 0;
      encodeResponseHeader(view, at, this.ops[i]!, this.statuses[i]!, this.indexes[i]!, payloadBytes);
      if (payload !== undefined) body.set(payload, at + Response.HEADER_BYTES);
      at += align8(Response.HEADER_BYTES + payloadBytes);
    }
    assert.equal(at, body.byteLength);
    this.ops = [];
    this.statuses = [];
    this.indexes = [];
    this.payloads = [];
    this.pendingBytes = ENVELOPE_HEADER_BYTES;
    this.sink.respond(Op.WRITE_BATCH, status, this.requestId, body);
  }
}
