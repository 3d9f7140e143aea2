/**
 * The coordinator's side of a write envelope (wire.ts, Op.WRITE_BATCH).
 * EnvelopeBuilder packs the writes bound for one node; the WriteEnvelope it
 * hands out is that request's PendingReply, and gives each item's answer to
 * the operation that sent the item, with the item's own target and tag.
 */
import assert from 'node:assert/strict';
import { type PendingReply, failReply } from './node-link.js';
import {
  ENVELOPE_HEADER_BYTES,
  ENVELOPE_ITEM_BYTES_MAX,
  ENVELOPE_ITEM_PREFIX_BYTES,
  ENVELOPE_ITEMS_MAX,
  Op,
  Request,
  RequestFlag,
  Response,
  Status,
  type RequestRecord,
  addressRequest,
  align8,
  encodeRequest,
  forEachEnvelopeItem,
  keyBytesOf,
  requestBytesOf,
} from './wire.js';
import { hintFieldOfTarget, nodeOfTarget } from '../ring/sloppy-quorum.js';

/** An envelope is sent once it holds this many items or bytes (or at the end of the event-loop turn). */
export const ENVELOPE_ITEMS_TARGET = 512;
export const ENVELOPE_BYTES_TARGET = 128 * 1024;

const textDecoder = new TextDecoder();

/**
 * The fewest items a new envelope has room for before it grows. Eight tags
 * are 64 bytes: V8 keeps a typed array of up to 64 bytes on its heap, without
 * an ArrayBuffer (at 16, each envelope's tags had one). A YCSB-B turn's
 * envelopes hold a few puts and repairs each.
 */
export const ENVELOPE_CAPACITY_MIN = 8;
/** The answers of an envelope not sealed yet: none (never written, it has no room). */
const NOT_SEALED = new Uint8Array(0);

/**
 * Room for an envelope that follows one of `items`: the next power of two
 * from ENVELOPE_CAPACITY_MIN to ENVELOPE_ITEMS_TARGET, so that a node's
 * steady flow of full envelopes (a putMany's) never grows one, and an
 * envelope of a few puts takes little.
 */
export function envelopeCapacityAfter(items: number): number {
  let capacity = ENVELOPE_CAPACITY_MIN;
  while (capacity < items && capacity < ENVELOPE_ITEMS_TARGET) capacity *= 2;
  return capacity;
}

export class WriteEnvelope implements PendingReply {
  // Sized up front and grown by doubling: three arrays grown by push,
  // element by element, were about 200 bytes of garbage per putMany key
  // (N items) on the coordinator (a sampling heap profile).
  private replies: PendingReply[];
  /** Any number a sender tags its request with, kept exactly. */
  private tags: Float64Array;
  private targets: Int32Array;
  private count = 0;
  /** 1 where an item has had its answer (or its failure). */
  private answered = NOT_SEALED;
  private answeredCount = 0;

  constructor(capacity = ENVELOPE_CAPACITY_MIN) {
    this.replies = new Array<PendingReply>(capacity);
    this.tags = new Float64Array(capacity);
    this.targets = new Int32Array(capacity);
  }

  get itemCount(): number {
    return this.count;
  }

  /** Builder side: one more item, whose index is its place. */
  push(reply: PendingReply, tag: number, target: number): number {
    if (this.count === this.targets.length) this.grow();
    const index = this.count++;
    this.replies[index] = reply;
    this.tags[index] = tag;
    this.targets[index] = target;
    return index;
  }

  private grow(): void {
    const capacity = this.targets.length * 2;
    const tags = new Float64Array(capacity);
    tags.set(this.tags);
    this.tags = tags;
    const targets = new Int32Array(capacity);
    targets.set(this.targets);
    this.targets = targets;
    this.replies.length = capacity;
  }

  seal(): void {
    this.answered = new Uint8Array(this.count);
  }

  onReply(_nodeId: number, status: number, bytes: Uint8Array, view: DataView, at: number, length: number): void {
    if (status === Status.ERROR) {
      // The node refused the envelope whole (a malformed envelope: our bug).
      return this.failUnanswered(new Error(`write envelope refused: ${textDecoder.decode(bytes.subarray(at, at + Math.min(length, 1024)))}`));
    }
    forEachEnvelopeItem(view, at, length, false, (itemAt, itemLength) => {
      const index = view.getUint32(itemAt + Response.REQUEST_ID, true);
      if (!(index < this.answered.length && this.answered[index] === 0)) assert.fail(`envelope answer for item ${index}: unknown or answered twice`);
      this.answered[index] = 1;
      this.answeredCount++;
      const reply = this.replies[index]!;
      try {
        reply.onReply(this.targets[index]!, view.getUint8(itemAt + Response.STATUS), bytes, view, itemAt + Response.HEADER_BYTES, itemLength - Response.HEADER_BYTES, this.tags[index]!);
      } catch (error) {
        // An answer its operation cannot use fails that item, not the envelope.
        failReply(reply, this.targets[index]!, error, this.tags[index]!, `write envelope item ${index}`);
      }
    });
    if (status === Status.OK && this.answeredCount < this.answered.length) {
      this.failUnanswered(new Error(`write envelope closed with ${this.answered.length - this.answeredCount} items unanswered`));
    }
  }

  onNodeFailure(_nodeId: number, error: Error): void {
    this.failUnanswered(error);
  }

  private failUnanswered(error: Error): void {
    for (let i = 0; i < this.answered.length; i++) {
      if (this.answered[i] === 1) continue;
      this.answered[i] = 1;
      this.answeredCount++;
      failReply(this.replies[i]!, this.targets[i]!, error, this.tags[i]!, `write envelope item ${i}`);
    }
  }
}

/**
 * Packs requests bound for one node into a reusable buffer. `take()` seals
 * the envelope; its body is valid until the next `add` (NodeLink.send copies
 * it into the ring, or into its outbox, at once).
 */
export class EnvelopeBuilder {
  private bytes = Buffer.alloc(ENVELOPE_BYTES_TARGET + 4096);
  private view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
  private length = ENVELOPE_HEADER_BYTES;
  private envelope = new WriteEnvelope();
  /** Whether the envelope being filled holds a PUT (RequestFlag.MINTS). */
  private mints = false;
  /** Whether it holds a PUT with RequestFlag.MINT_ONLY, which the node answers before any commit (the envelope carries the flag too). */
  private mintsOnly = false;

  get itemCount(): number {
    return this.envelope.itemCount;
  }

  get byteLength(): number {
    return this.length;
  }

  /** Whether an item of `messageBytes` still belongs in this envelope (an empty one takes anything). */
  fits(messageBytes: number): boolean {
    if (this.itemCount === 0) return true;
    return this.itemCount < ENVELOPE_ITEMS_MAX && this.length + ENVELOPE_ITEM_PREFIX_BYTES + align8(messageBytes) <= ENVELOPE_BYTES_TARGET;
  }

  /** `keyBytes`: keyBytesOf(request.key), which the caller measured already. */
  add(request: RequestRecord, keyBytes: number, reply: PendingReply, tag: number, target: number): void {
    assert.ok(this.itemCount < ENVELOPE_ITEMS_MAX, 'write envelope full');
    const messageBytes = requestBytesOf(request, keyBytes);
    const itemBytes = ENVELOPE_ITEM_PREFIX_BYTES + align8(messageBytes);
    if (this.length + itemBytes > this.bytes.byteLength) this.grow(this.length + itemBytes);
    const at = this.length;
    this.view.setUint32(at, messageBytes, true);
    this.view.setUint32(at + 4, 0, true);
    const index = this.envelope.push(reply, tag, target);
    if (request.op === Op.PUT) {
      this.mints = true;
      if ((request.flags & RequestFlag.MINT_ONLY) !== 0) this.mintsOnly = true;
    }
    encodeRequest(this.bytes, this.view, at + ENVELOPE_ITEM_PREFIX_BYTES, index, request, keyBytes, hintFieldOfTarget(target));
    // Padding is zeroed: equal envelopes are equal bytes. At most 7 bytes, so
    // a loop: Buffer#fill's argument checks were 5% of a putMany
    // coordinator's CPU profile (one call per copy).
    for (let i = at + ENVELOPE_ITEM_PREFIX_BYTES + messageBytes; i < at + itemBytes; i++) this.bytes[i] = 0;
    this.length += itemBytes;
  }

  /**
   * A request message encoded already (its id and hint owner are set here:
   * wire.ts addressRequest), copied as it is: a putMany's minted REPLICATE,
   * built once for its N replicas (store/put-many-items.ts). The same bytes
   * as `add` of its record.
   */
  addMessage(message: Uint8Array, reply: PendingReply, tag: number, target: number): void {
    if (!(this.itemCount < ENVELOPE_ITEMS_MAX)) assert.fail('write envelope full');
    const messageBytes = message.byteLength;
    const itemBytes = ENVELOPE_ITEM_PREFIX_BYTES + align8(messageBytes);
    if (this.length + itemBytes > this.bytes.byteLength) this.grow(this.length + itemBytes);
    const at = this.length;
    const view = this.view;
    view.setUint32(at, messageBytes, true);
    view.setUint32(at + 4, 0, true);
    const index = this.envelope.push(reply, tag, target);
    if (message[Request.OP] === Op.PUT) {
      this.mints = true;
      if ((message[Request.FLAGS]! & RequestFlag.MINT_ONLY) !== 0) this.mintsOnly = true;
    }
    const bytes = this.bytes;
    bytes.set(message, at + ENVELOPE_ITEM_PREFIX_BYTES);
    addressRequest(view, at + ENVELOPE_ITEM_PREFIX_BYTES, index, hintFieldOfTarget(target));
    // Padding zeroed, as add's.
    for (let i = at + ENVELOPE_ITEM_PREFIX_BYTES + messageBytes; i < at + itemBytes; i++) bytes[i] = 0;
    this.length += itemBytes;
  }

  /** The envelope to send: its body, its request flags, and the reply that routes its answers. */
  take(): { body: Uint8Array; flags: number; envelope: WriteEnvelope } {
    this.view.setUint32(0, this.itemCount, true);
    this.view.setUint32(4, 0, true);
    const body = this.bytes.subarray(0, this.length);
    const envelope = this.envelope;
    const flags = (this.mints ? RequestFlag.MINTS : 0) | (this.mintsOnly ? RequestFlag.MINT_ONLY : 0);
    envelope.seal();
    this.envelope = new WriteEnvelope(envelopeCapacityAfter(envelope.itemCount));
    this.length = ENVELOPE_HEADER_BYTES;
    this.mints = false;
    this.mintsOnly = false;
    return { body, flags, envelope };
  }

  private grow(bytesMin: number): void {
    const next = Buffer.alloc(Math.max(bytesMin, this.bytes.byteLength * 2));
    next.set(this.bytes.subarray(0, this.length));
    this.bytes = next;
    this.view = new DataView(next.buffer, next.byteOffset, next.byteLength);
  }
}

/**
 * The coordinator's packing policy, shared by the store and the simulation:
 * one envelope filling per node, sent once it holds ENVELOPE_ITEMS_TARGET
 * items or ENVELOPE_BYTES_TARGET bytes, or when the flush `scheduleFlush`
 * was handed runs (the end of the event-loop turn, or of the virtual instant).
 */
export class EnvelopeBatcher {
  private readonly builders: (EnvelopeBuilder | undefined)[] = [];
  private flushScheduled = false;
  /** Envelopes sent, and the requests they carried. */
  envelopesSent = 0;
  itemsSent = 0;

  constructor(
    private readonly sendEnvelope: (nodeId: number, flags: number, body: Uint8Array, envelope: WriteEnvelope) => void,
    private readonly scheduleFlush: (flush: () => void) => void,
  ) {}

  /** Pack an encoded request message for `target`'s node (EnvelopeBuilder.addMessage). False, and nothing packed, when it is too large for an envelope. */
  addMessage(target: number, message: Uint8Array, reply: PendingReply, tag: number): boolean {
    const messageBytes = message.byteLength;
    if (messageBytes > ENVELOPE_ITEM_BYTES_MAX) return false;
    const nodeId = nodeOfTarget(target);
    const builder = (this.builders[nodeId] ??= new EnvelopeBuilder());
    if (!builder.fits(messageBytes)) this.flush(nodeId);
    builder.addMessage(message, reply, tag, target);
    this.filled(nodeId, builder);
    return true;
  }

  /** Send `nodeId`'s envelope once it holds its target of items, else make sure the turn's flush is scheduled. */
  private filled(nodeId: number, builder: EnvelopeBuilder): void {
    if (builder.itemCount >= ENVELOPE_ITEMS_TARGET) this.flush(nodeId);
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      this.scheduleFlush(this.flushAll);
    }
  }

  /** Pack a request for `target`'s node. False, and nothing packed, when it is too large for an envelope: it goes alone. */
  add(target: number, request: RequestRecord, reply: PendingReply, tag: number): boolean {
    const keyBytes = keyBytesOf(request.key);
    const messageBytes = requestBytesOf(request, keyBytes);
    if (messageBytes > ENVELOPE_ITEM_BYTES_MAX) return false;
    const nodeId = nodeOfTarget(target);
    const builder = (this.builders[nodeId] ??= new EnvelopeBuilder());
    if (!builder.fits(messageBytes)) this.flush(nodeId);
    builder.add(request, keyBytes, reply, tag, target);
    this.filled(nodeId, builder);
    return true;
  }

  private readonly flushAll = (): void => {
    this.flushScheduled = false;
    for (let nodeId = 0; nodeId < this.builders.length; nodeId++) this.flush(nodeId);
  };

  private flush(nodeId: number): void {
    const builder = this.builders[nodeId];
    if (builder === undefined || builder.itemCount === 0) return;
    const { body, flags, envelope } = builder.take();
    this.envelopesSent++;
    this.itemsSent += envelope.itemCount;
    this.sendEnvelope(nodeId, flags, body, envelope);
  }
}
