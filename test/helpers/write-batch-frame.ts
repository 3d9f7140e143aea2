/**
 * A WRITE_BATCH request frame around an envelope body (write-envelope.ts
 * EnvelopeBuilder.take), as a node reads it from its ring: for tests that
 * hand envelopes to a Replica directly.
 */
import { Op, Request, contextOffset } from '../../lib/transport/wire.js';

export function writeBatchFrame(body: Uint8Array, flags: number, requestId: number): { frame: Uint8Array; view: DataView } {
  const frame = new Uint8Array(contextOffset(0) + body.byteLength);
  const view = new DataView(frame.buffer);
  view.setUint8(Request.OP, Op.WRITE_BATCH);
  view.setUint8(Request.FLAGS, flags);
  view.setUint32(Request.REQUEST_ID, requestId, true);
  view.setUint32(Request.VALUE_BYTES, body.byteLength, true);
  frame.set(body, contextOffset(0));
  return { frame, view };
}
