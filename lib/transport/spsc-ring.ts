/**
 * A single-producer single-consumer byte ring over a SharedArrayBuffer: the
 * per-request path between the coordinator and a storage node (layout in
 * wire.ts). Batching is the point: a producer writes many records and
 * publishes HEAD once; a consumer drains every record available and releases
 * TAIL once. Waking a sleeping thread costs ~15-20 us on these machines while
 * copying a frame costs well under 1 us, so wakes, not bytes, are what we save.
 */
import assert from 'node:assert/strict';
import {
  CONTROL_BYTES,
  ConsumerState,
  ControlWord,
  FIRST_FRAGMENT_PREFIX_BYTES,
  NOTIFIED_AT_F64,
  ProducerState,
  RECORD_HEADER_BYTES,
  RING_CAPACITY_MAX_BYTES,
  RING_CAPACITY_MIN_BYTES,
  RecordKind,
  align8,
  isPowerOfTwo,
  recordPayloadMax,
} from './wire.js';

/** One clock for every thread of the process (wire.ts, NOTIFIED_AT): agrees across threads to about a microsecond. */
function processClockMs(): number {
  return performance.timeOrigin + performance.now();
}

export function allocateRing(capacityBytes: number): SharedArrayBuffer {
  assert.ok(isPowerOfTwo(capacityBytes), 'ring capacity must be a power of two');
  assert.ok(capacityBytes >= RING_CAPACITY_MIN_BYTES && capacityBytes <= RING_CAPACITY_MAX_BYTES);
  return new SharedArrayBuffer(CONTROL_BYTES + capacityBytes);
}

class RingView {
  protected readonly control: Int32Array;
  /** The control region as f64s (NOTIFIED_AT). */
  protected readonly controlClock: Float64Array;
  /** A Buffer so that string keys can be written into frames in place. */
  protected readonly data: Buffer;
  /**
   * The same memory as a plain Uint8Array, handed to readers: subarrays and
   * copies of it are plain arrays, cheaper to make than Buffers.
   */
  protected readonly plain: Uint8Array;
  protected readonly dataView: DataView;
  readonly capacityBytes: number;
  protected readonly mask: number;
  /** Largest payload one record can carry; larger messages are fragmented. */
  readonly recordPayloadMax: number;

  constructor(buffer: SharedArrayBuffer) {
    this.capacityBytes = buffer.byteLength - CONTROL_BYTES;
    assert.ok(isPowerOfTwo(this.capacityBytes), 'ring data region must be a power of two');
    this.control = new Int32Array(buffer, 0, CONTROL_BYTES / 4);
    this.controlClock = new Float64Array(buffer, 0, CONTROL_BYTES / 8);
    this.data = Buffer.from(buffer, CONTROL_BYTES, this.capacityBytes);
    this.plain = new Uint8Array(buffer, CONTROL_BYTES, this.capacityBytes);
    this.dataView = new DataView(buffer, CONTROL_BYTES, this.capacityBytes);
    this.mask = this.capacityBytes - 1;
    this.recordPayloadMax = recordPayloadMax(this.capacityBytes);
  }

  /** Bytes written but not yet consumed, as last published. */
  usedBytes(): number {
    return (Atomics.load(this.control, ControlWord.HEAD) - Atomics.load(this.control, ControlWord.TAIL)) >>> 0;
  }

  isClosed(): boolean {
    return Atomics.load(this.control, ControlWord.CLOSED) === 1;
  }

  /** Wake whoever sleeps on this ring, changing nothing: they re-check their own state (store.crashNode). */
  wake(): void {
    Atomics.notify(this.control, ControlWord.CONSUMER_STATE);
    Atomics.notify(this.control, ControlWord.PRODUCER_STATE);
  }

  /** Ask the consumer to stop; wakes it if it sleeps. */
  close(): void {
    Atomics.store(this.control, ControlWord.CLOSED, 1);
    Atomics.store(this.control, ControlWord.CONSUMER_STATE, ConsumerState.AWAKE);
    Atomics.notify(this.control, ControlWord.CONSUMER_STATE);
    Atomics.store(this.control, ControlWord.PRODUCER_STATE, ProducerState.RUNNING);
    Atomics.notify(this.control, ControlWord.PRODUCER_STATE);
  }
}

/** The producer's half. Only one thread may own it. */
export class RingWriter extends RingView {
  private head: number;
  private publishedHead: number;
  private recordsUnpublished = 0;
  private tailSeen: number;
  /** Whose CONSUMER_STATE a publish wakes: this ring's, or (an attached coordinator's ring) the node's doorbell ring's (wire.ts). */
  private readonly bell: Int32Array;
  /** The same control region as f64s, for the bell's NOTIFIED_AT. */
  private readonly bellClock: Float64Array;

  constructor(buffer: SharedArrayBuffer, doorbell?: SharedArrayBuffer) {
    super(buffer);
    this.bell = doorbell === undefined ? this.control : new Int32Array(doorbell, 0, CONTROL_BYTES / 4);
    this.bellClock = new Float64Array(doorbell ?? buffer, 0, CONTROL_BYTES / 8);
    this.head = Atomics.load(this.control, ControlWord.HEAD) >>> 0;
    this.publishedHead = this.head;
    this.tailSeen = Atomics.load(this.control, ControlWord.TAIL) >>> 0;
  }

  /** The data region; offsets returned by `reserve` index into it. */
  get bytes(): Buffer {
    return this.data;
  }

  get view(): DataView {
    return this.dataView;
  }

  private freeBytes(): number {
    return this.capacityBytes - ((this.head - this.tailSeen) >>> 0);
  }

  /**
   * Reserve a record for a payload of `payloadBytes` and write its header.
   * Returns the payload's offset in `bytes`, or -1 when the ring lacks room.
   * The record becomes visible to the consumer at the next `publish()`.
   */
  reserve(payloadBytes: number, kind: number = RecordKind.WHOLE): number {
    assert.ok(payloadBytes <= this.recordPayloadMax, 'record larger than the ring allows');
    const recordBytes = align8(RECORD_HEADER_BYTES + payloadBytes);
    const position = this.head & this.mask;
    const contiguousBytes = this.capacityBytes - position;
    const padBytes = contiguousBytes < recordBytes ? contiguousBytes : 0;
    if (this.freeBytes() < padBytes + recordBytes) {
      this.tailSeen = Atomics.load(this.control, ControlWord.TAIL) >>> 0;
      if (this.freeBytes() < padBytes + recordBytes) return -1;
    }
    if (padBytes > 0) {
      this.dataView.setUint32(position, padBytes - RECORD_HEADER_BYTES, true);
      this.data[position + 4] = RecordKind.PAD;
      this.head = (this.head + padBytes) >>> 0;
    }
    const at = this.head & this.mask;
    this.dataView.setUint32(at, payloadBytes, true);
    this.data[at + 4] = kind;
    this.head = (this.head + recordBytes) >>> 0;
    this.recordsUnpublished++;
    return at + RECORD_HEADER_BYTES;
  }

  /**
   * Make records visible once `recordsMax` have accumulated, without waking
   * the consumer: a consumer that is awake (draining or spinning) starts on
   * them while the producer writes the rest; a sleeping one is woken once, by
   * the `publish()` that ends the burst. Call after a record is complete.
   */
  publishEvery(recordsMax: number): void {
    if (this.recordsUnpublished < recordsMax) return;
    this.recordsUnpublished = 0;
    Atomics.store(this.control, ControlWord.HEAD, this.head | 0);
  }

  /**
   * Write as much of a large message as fits, as fragments. Returns how many
   * bytes of `message` have been sent so far; call again with that offset
   * once the consumer has made room.
   */
  writeFragments(message: Uint8Array, sentBytes: number): number {
    const payloadMax = this.recordPayloadMax;
    while (sentBytes < message.byteLength) {
      const first = sentBytes === 0;
      const prefixBytes = first ? FIRST_FRAGMENT_PREFIX_BYTES : 0;
      const chunkBytes = Math.min(message.byteLength - sentBytes, payloadMax - prefixBytes);
      const last = sentBytes + chunkBytes === message.byteLength;
      const kind = first ? RecordKind.FIRST : last ? RecordKind.LAST : RecordKind.MIDDLE;
      const at = this.reserve(prefixBytes + chunkBytes, kind);
      if (at < 0) break;
      if (first) this.dataView.setUint32(at, message.byteLength, true);
      this.data.set(message.subarray(sentBytes, sentBytes + chunkBytes), at + prefixBytes);
      sentBytes += chunkBytes;
    }
    return sentBytes;
  }

  /** Make every reserved record visible and wake the consumer if it sleeps. */
  publish(): void {
    if (this.head === this.publishedHead) return;
    this.publishedHead = this.head;
    this.recordsUnpublished = 0;
    Atomics.store(this.control, ControlWord.HEAD, this.head | 0);
    // Every record stored before this point is visible: a consumer that
    // announced SLEEPING after our store sees it on its re-check. A load
    // first: a consumer known awake costs no locked read-modify-write of a
    // line it keeps reading.
    if (Atomics.load(this.bell, ControlWord.CONSUMER_STATE) !== ConsumerState.SLEEPING) return;
    // Stamped before the state changes, so that the woken consumer reads this wake's time.
    this.bellClock[NOTIFIED_AT_F64] = processClockMs();
    if (Atomics.compareExchange(this.bell, ControlWord.CONSUMER_STATE, ConsumerState.SLEEPING, ConsumerState.AWAKE) === ConsumerState.SLEEPING) {
      Atomics.notify(this.bell, ControlWord.CONSUMER_STATE); // all waiters: a stale waitAsync (one that lost a race) must not absorb the wake of the real sleeper
    }
  }

  private announceWaiting(bytesNeeded: number): boolean {
    Atomics.store(this.control, ControlWord.PRODUCER_STATE, ProducerState.WAITING);
    this.tailSeen = Atomics.load(this.control, ControlWord.TAIL) >>> 0;
    if (this.freeBytes() >= bytesNeeded || this.isClosed()) {
      Atomics.store(this.control, ControlWord.PRODUCER_STATE, ProducerState.RUNNING);
      return false;
    }
    return true;
  }

  /** Block this thread (a worker) until the consumer frees `bytesNeeded` or timeoutMs passes. */
  waitForSpace(bytesNeeded: number, timeoutMs: number): void {
    if (!this.announceWaiting(bytesNeeded)) return;
    Atomics.wait(this.control, ControlWord.PRODUCER_STATE, ProducerState.WAITING, timeoutMs);
  }

  /** The main thread's way to wait for room: never blocks the event loop. */
  waitForSpaceAsync(bytesNeeded: number, timeoutMs: number): Promise<unknown> | undefined {
    if (!this.announceWaiting(bytesNeeded)) return undefined;
    const waited = Atomics.waitAsync(this.control, ControlWord.PRODUCER_STATE, ProducerState.WAITING, timeoutMs);
    return waited.async ? waited.value : undefined;
  }
}

/** `view` covers the same memory as `bytes`; offsets index both. */
export type MessageHandler = (bytes: Uint8Array, view: DataView, offset: number, length: number) => void;

/** The consumer's half. Only one thread may own it. */
export class RingReader extends RingView {
  private tail: number;
  private reassembly: Uint8Array | undefined;
  private reassembledBytes = 0;
  private readonly messageBytesMax: number;

  constructor(buffer: SharedArrayBuffer, messageBytesMax: number) {
    super(buffer);
    this.tail = Atomics.load(this.control, ControlWord.TAIL) >>> 0;
    this.messageBytesMax = messageBytesMax;
  }

  hasData(): boolean {
    return (Atomics.load(this.control, ControlWord.HEAD) >>> 0) !== this.tail;
  }

  /**
   * Hand every complete message published so far (at most `messagesMax`) to
   * `onMessage`, then release their bytes in one store. A message's bytes are
   * a view into shared memory valid only during the call: copy what you keep.
   */
  read(onMessage: MessageHandler, messagesMax: number): number {
    const head = Atomics.load(this.control, ControlWord.HEAD) >>> 0;
    let messages = 0;
    while (this.tail !== head && messages < messagesMax) {
      const at = this.tail & this.mask;
      const payloadBytes = this.dataView.getUint32(at, true);
      const kind = this.dataView.getUint8(at + 4);
      const recordBytes = align8(RECORD_HEADER_BYTES + payloadBytes);
      assert.ok(recordBytes <= this.capacityBytes - at, 'record straddles the end of the ring');
      const payloadAt = at + RECORD_HEADER_BYTES;
      if (kind === RecordKind.WHOLE) {
        onMessage(this.plain, this.dataView, payloadAt, payloadBytes);
        messages++;
      } else if (kind !== RecordKind.PAD) {
        if (this.readFragment(kind, payloadAt, payloadBytes, onMessage)) messages++;
      }
      this.tail = (this.tail + recordBytes) >>> 0;
    }
    if (messages > 0 || this.tail !== (Atomics.load(this.control, ControlWord.TAIL) >>> 0)) this.release();
    return messages;
  }

  private readFragment(kind: number, payloadAt: number, payloadBytes: number, onMessage: MessageHandler): boolean {
    if (kind === RecordKind.FIRST) {
      assert.equal(this.reassembly, undefined, 'FIRST fragment while another message is open');
      const messageBytes = this.dataView.getUint32(payloadAt, true);
      if (!(messageBytes <= this.messageBytesMax)) assert.fail(`fragmented message of ${messageBytes} bytes over the bound`);
      this.reassembly = new Uint8Array(messageBytes);
      this.reassembledBytes = 0;
      payloadAt += FIRST_FRAGMENT_PREFIX_BYTES;
      payloadBytes -= FIRST_FRAGMENT_PREFIX_BYTES;
    }
    const target = this.reassembly;
    if (target === undefined) assert.fail(`fragment kind ${kind} without FIRST`);
    assert.ok(this.reassembledBytes + payloadBytes <= target.byteLength, 'fragments overflow their message');
    target.set(this.plain.subarray(payloadAt, payloadAt + payloadBytes), this.reassembledBytes);
    this.reassembledBytes += payloadBytes;
    if (kind !== RecordKind.LAST) return false;
    assert.equal(this.reassembledBytes, target.byteLength, 'LAST fragment before the message is complete');
    this.reassembly = undefined;
    onMessage(target, new DataView(target.buffer), 0, target.byteLength);
    return true;
  }

  private release(): void {
    Atomics.store(this.control, ControlWord.TAIL, this.tail | 0);
    if (Atomics.compareExchange(this.control, ControlWord.PRODUCER_STATE, ProducerState.WAITING, ProducerState.RUNNING) === ProducerState.WAITING) {
      Atomics.notify(this.control, ControlWord.PRODUCER_STATE); // all waiters, as above
    }
  }

  /** `othersHaveData`: the rings that ring this one's doorbell (attached coordinators', wire.ts), re-checked likewise. */
  private announceSleeping(othersHaveData?: () => boolean): boolean {
    Atomics.store(this.control, ControlWord.CONSUMER_STATE, ConsumerState.SLEEPING);
    // Re-check after announcing: a producer that published before seeing
    // SLEEPING will not notify, so we must not sleep on its data.
    if (this.hasData() || this.isClosed() || othersHaveData?.() === true) {
      Atomics.store(this.control, ControlWord.CONSUMER_STATE, ConsumerState.AWAKE);
      return false;
    }
    return true;
  }

  /**
   * Block this thread (a worker) until data arrives, the ring closes, or
   * timeoutMs passes. Returns what the wake cost, when a producer's notify
   * ended the sleep: from its notify to this thread running again, in ms
   * (NaN otherwise: no sleep, a timeout, a close).
   */
  waitForData(timeoutMs: number, othersHaveData?: () => boolean): number {
    // Read before announcing: a producer that sees SLEEPING stamps after it.
    const sleptAtMs = processClockMs();
    if (!this.announceSleeping(othersHaveData)) return NaN;
    const outcome = Atomics.wait(this.control, ControlWord.CONSUMER_STATE, ConsumerState.SLEEPING, timeoutMs);
    Atomics.store(this.control, ControlWord.CONSUMER_STATE, ConsumerState.AWAKE);
    if (outcome !== 'ok') return NaN;
    // A notify stamped before this sleep began was not this wake's (a close, a crash's wake do not stamp).
    const notifiedAtMs = this.controlClock[NOTIFIED_AT_F64]!;
    return notifiedAtMs >= sleptAtMs ? Math.max(0, processClockMs() - notifiedAtMs) : NaN;
  }

  /** Wait without blocking the event loop (the coordinator, or a worker with commits in flight). */
  waitForDataAsync(timeoutMs: number, othersHaveData?: () => boolean): Promise<unknown> | undefined {
    if (!this.announceSleeping(othersHaveData)) return undefined;
    const waited = Atomics.waitAsync(this.control, ControlWord.CONSUMER_STATE, ConsumerState.SLEEPING, timeoutMs);
    return waited.async ? waited.value : undefined;
  }

  /** Called after an async wait ends, so a producer does not notify a consumer that is awake. */
  markAwake(): void {
    Atomics.store(this.control, ControlWord.CONSUMER_STATE, ConsumerState.AWAKE);
  }
}
