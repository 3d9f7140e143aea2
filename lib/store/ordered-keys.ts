/**
 * The Store's leader-ordered keys, ranges and spaces (lib/tables/DESIGN.md §5),
 * in their own module so that store.ts keeps to opening, closing, node threads
 * and membership: the checks of each call's input, its encoding into the
 * coordinator's ordered operations, and the decoding of their answers. The
 * Store's public methods delegate here after checking that it is open.
 */
import { ErrorCode, RingtableError } from '../errors.js';
import type { ResolvedOptions } from '../config/options.js';
import { PARTITIONED_KEY_MARKER, SPACE_MAX, isWellFormedPartitionedKey, spacePrefix, tokenBound, tokenOf } from '../ring/partitioned-key.js';
import { sameRingPartition } from '../ring/ring.js';
import { RANGE_ENTRIES_MAX } from '../node/replica.js';
import { ALSO_KEYS_MAX, AlsoFlag, type AlsoWrite, ExpectKind, RequestFlag, Status, decodeRangePage, encodeRangePayload } from '../transport/wire.js';
import { decodeObject } from '../version/object-codec.js';
import { isLive, orderedEntryOf, parseVersion, versionText } from '../version/ordered-version.js';
import { type Coordinator, LATER, NOT_IN_PLACE } from './coordinator.js';
import type { OrderedReadAnswer } from './ordered-in-place-get.js';
import type { Send } from './coordinator-host.js';
import type { GetOrderedOptions, OrderedValue, OrderedVersion, OrderedWrite, RangePage, RangeRequest, TokenRange } from './ordered-types.js';
import { putRequest } from './put-request.js';
import { dropSpaceOn } from './space-drop.js';
import { writeDroppedSpaces } from './store-files.js';
import { type Key, decodeValue, encodeValue, keyByteLength } from './value-codec.js';

const RANGE_LIMIT_DEFAULT = 1000;
const RANGE_BYTES_DEFAULT = 1 << 20;
/** Marker, space and token: the shortest start that names a ring partition. */
const RANGE_START_BYTES_MIN = 9;
const TOKEN_SPACE = 2 ** 32;
/** A multi-key write's also keys and values take at most this many times valueBytesMax (the node's message bound is 8 times). */
const MULTI_KEY_BYTES_FACTOR = 4;

export class OrderedKeys {
  /** tokenRanges() of the current ring, made once per ring. */
  private ranges: { ring: unknown; ranges: readonly TokenRange[] } | undefined;

  constructor(
    private readonly options: ResolvedOptions,
    private readonly coordinator: Coordinator,
    private readonly host: { send: Send; isUp(node: number): boolean },
  ) {}


  /**
   * Read one leader-ordered key: from its partition's leader (consistent) or any up replica (may be stale).
   * Not an async function: a read answered in place (Coordinator.orderedGetInPlace) costs one settled promise, as Store.get's does.
   */
  get(key: Key, options?: GetOrderedOptions): Promise<OrderedValue | undefined> {
    let answer: OrderedReadAnswer | typeof NOT_IN_PLACE | typeof LATER;
    let consistent: boolean;
    try {
      keyByteLength(key, this.options.keyBytesMax);
      consistent = consistentOption(options);
      this.coordinator.admit(1);
      answer = this.coordinator.orderedGetInPlace(key, consistent, undefined, true);
      if (answer !== NOT_IN_PLACE && answer !== LATER) return Promise.resolve(this.orderedValue(answer));
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<OrderedReadAnswer>((resolve, reject) => {
      this.coordinator.orderedGetNotInPlace(answer, key, consistent, (error, status, bytes, replica) => (error ? reject(error) : resolve({ status, payload: bytes!, replica })));
    }).then((read) => this.orderedValue(read));
  }

  private orderedValue({ status, payload, replica, decoded }: OrderedReadAnswer): OrderedValue | undefined {
    if (status === Status.NOT_FOUND) return undefined;
    if (decoded !== undefined) return decoded.live ? { value: decoded.value, version: versionText(decoded.version), replica } : undefined;
    const entry = orderedEntryOf(decodeObject(payload));
    if (entry === undefined) throw new RingtableError(ErrorCode.INVALID_KEY, 'the key was written with put: read it with get (leader-ordered and plain keys never mix)');
    if (!isLive(entry.sibling, this.coordinator.wallClockMs())) return undefined;
    return { value: decodeValue(entry.sibling.value), version: versionText(entry.version), replica };
  }

  /**
   * Write through the key's partition leader, which orders it after every
   * write it acknowledged (last writer wins by that order, never siblings)
   * and checks `expect` inside its write transaction. Resolves after W
   * replicas (the leader among them) made it durable; ERR_CONFLICT (details.current)
   * when `expect` does not hold, so of concurrent compare-and-sets exactly one wins.
   */
  async write(write: OrderedWrite): Promise<{ version: OrderedVersion }> {
    if (write === null || typeof write !== 'object') throw new RingtableError(ErrorCode.INVALID_OPTIONS, 'writeOrdered takes { key, value?, expect?, ttlMs? }');
    const tombstone = write.value === undefined;
    const request = putRequest(write.key, tombstone ? null : write.value, write.ttlMs === undefined ? undefined : { ttlMs: write.ttlMs }, tombstone ? RequestFlag.TOMBSTONE : 0, this.options, this.coordinator);
    const expect = expectOf(write.expect);
    const { partition } = this.coordinator.orderedPlacement(write.key);
    const also = this.alsoWrites(write);
    const orderedRequest = { key: write.key, partition, value: request.value, tombstone, ...expect, timestampMs: request.timestampMs, expiresAtMs: request.expiresAtMs, also };
    const objectBytes = await new Promise<Uint8Array>((resolve, reject) => {
      this.coordinator.admit(1);
      this.coordinator.startOrderedWrite(orderedRequest, this.options.w, (error, bytes) => (error ? reject(error) : resolve(bytes!)));
    });
    return { version: versionText(orderedEntryOf(decodeObject(objectBytes))!.version) };
  }

  /**
   * A multi-key write's other keys, checked: partitioned keys in the first
   * key's ring partition (one leader, one replica set, one transaction on
   * each). The same ring partition, not the same token: a table's stream
   * records are keyed by their ring partition's first token, so that they
   * sort in the leader's version order (lib/tables/indexes/change-log.ts).
   */
  private alsoWrites(write: OrderedWrite): AlsoWrite[] {
    if (write.also === undefined) return [];
    if (!Array.isArray(write.also) || write.also.length > ALSO_KEYS_MAX) throw new RingtableError(ErrorCode.INVALID_OPTIONS, `also must be an array of at most ${ALSO_KEYS_MAX} writes`);
    const key = write.key;
    const token = key instanceof Uint8Array && key[0] === PARTITIONED_KEY_MARKER && key.byteLength >= RANGE_START_BYTES_MIN ? tokenOf(key) : undefined;
    const ring = this.coordinator.ring;
    if (token === undefined) throw new RingtableError(ErrorCode.INVALID_OPTIONS, 'a multi-key write needs a partitioned key');
    let totalBytes = 0;
    const writes = write.also.map((entry) => {
      if (entry === null || typeof entry !== 'object' || !(entry.key instanceof Uint8Array)) throw new RingtableError(ErrorCode.INVALID_OPTIONS, 'each also write is { key: Uint8Array, value?, appendVersion? }');
      const suffixBytes = entry.appendVersion === true ? 8 : 0;
      keyByteLength(entry.key, this.options.keyBytesMax - suffixBytes);
      if (entry.key[0] !== PARTITIONED_KEY_MARKER || !isWellFormedPartitionedKey(entry.key) || !sameRingPartition(ring, tokenOf(entry.key), token)) {
        throw new RingtableError(ErrorCode.INVALID_OPTIONS, "every also key must be a partitioned key in the first key's ring partition");
      }
      const tombstone = entry.value === undefined;
      const value = tombstone ? new Uint8Array(0) : encodeValue(entry.value, this.options.valueBytesMax);
      totalBytes += value.byteLength + entry.key.byteLength;
      return { key: entry.key, flags: (tombstone ? AlsoFlag.TOMBSTONE : 0) | (entry.appendVersion === true ? AlsoFlag.APPEND_VERSION : 0), value };
    });
    // One message carries every key (and the answer every object): bounded well inside messageBytesMax.
    if (totalBytes > MULTI_KEY_BYTES_FACTOR * this.options.valueBytesMax) throw new RingtableError(ErrorCode.INVALID_VALUE, `a multi-key write's also keys and values take ${totalBytes} bytes, over ${MULTI_KEY_BYTES_FACTOR} × valueBytesMax`);
    return writes;
  }

  /** One replica's live leader-ordered keys in [start, end), within one ring partition: Query's and Scan's one range read. */
  async range(request: RangeRequest): Promise<RangePage> {
    const { start, end, reverse, limit, bytesMax, consistent } = this.checkRange(request);
    const payload = encodeRangePayload(limit, bytesMax, reverse, end);
    const answer = await this.orderedRead('range', start, payload, consistent, tokenOf(start));
    const page = decodeRangePage(answer.payload, 0, answer.payload.byteLength);
    const entries = page.entries.map(({ key, object }) => {
      const entry = orderedEntryOf(decodeObject(object))!;
      return { key, value: decodeValue(entry.sibling.value), version: versionText(entry.version), valueBytes: entry.sibling.value.byteLength };
    });
    return { entries, more: page.more, replica: answer.replica };
  }

  /**
   * The ring's partitions as token ranges: Scan walks them, Segment/TotalSegments split them.
   * Made once per ring (frozen, shared) and handed out as a fresh array: the tables layer asks
   * on every write that has index or stream hooks, and 1,024 new objects per call were a fifth
   * of an UpdateItem's coordinator time (bench/tables.bench.ts profile).
   */
  tokenRanges(): TokenRange[] {
    const ring = this.coordinator.ring;
    if (this.ranges?.ring !== ring) {
      const span = TOKEN_SPACE / ring.partitionCount;
      const ranges = Array.from({ length: ring.partitionCount }, (_, partition): TokenRange => Object.freeze({ partition, tokenStart: partition * span, tokenEnd: (partition + 1) * span }));
      this.ranges = { ring, ranges };
    }
    return this.ranges.ranges.slice();
  }

  /**
   * Delete every key of `space` on every node, without a tombstone per key
   * (spaces are never reused). The drop is persisted first, beside the ring:
   * a node down now drops the space when it starts, and anti-entropy,
   * handoff, range moves and a leader's catch-up ignore the space from now on.
   */
  async dropSpace(space: number): Promise<void> {
    if (!Number.isInteger(space) || space < 0 || space > SPACE_MAX) throw new RingtableError(ErrorCode.INVALID_OPTIONS, `space must be an integer in 0..${SPACE_MAX}, got ${String(space)}`);
    if (!this.coordinator.droppedSpaces.has(space)) {
      this.coordinator.dropSpaceLocally(space);
      writeDroppedSpaces(this.options.path, [...this.coordinator.droppedSpaces]);
    }
    await Promise.all(this.coordinator.ring.nodeIds().filter((id) => this.host.isUp(id)).map((id) => dropSpaceOn(this.host.send, id, space)));
  }

  /** Every dropped space, on one node (at open and when it starts again). */
  async dropSpacesOn(nodeId: number): Promise<void> {
    for (const space of this.coordinator.droppedSpaces) await dropSpaceOn(this.host.send, nodeId, space);
  }

  private orderedRead(kind: 'get' | 'range', key: Key, payload: Uint8Array | undefined, consistent: boolean, hash32?: number): Promise<{ status: number; payload: Uint8Array; replica: number }> {
    return new Promise((resolve, reject) => {
      this.coordinator.admit(1);
      this.coordinator.startOrderedRead(kind, key, payload, consistent, (error, status, bytes, replica) => (error ? reject(error) : resolve({ status, payload: bytes!, replica })), hash32);
    });
  }

  private checkRange(request: RangeRequest): { start: Uint8Array; end: Uint8Array; reverse: boolean; limit: number; bytesMax: number; consistent: boolean } {
    if (request === null || typeof request !== 'object') throw new RingtableError(ErrorCode.INVALID_OPTIONS, 'range takes { start, end, reverse?, limit?, bytesMax?, consistent? }');
    const { start, end } = request;
    if (!(start instanceof Uint8Array) || start.byteLength < RANGE_START_BYTES_MIN || start[0] !== PARTITIONED_KEY_MARKER) {
      throw new RingtableError(ErrorCode.INVALID_OPTIONS, 'range start must be a partitioned key, or a prefix of one through its token (at least 9 bytes)');
    }
    if (!(end instanceof Uint8Array)) throw new RingtableError(ErrorCode.INVALID_OPTIONS, 'range end must be a Uint8Array');
    if (start.byteLength > this.options.keyBytesMax || end.byteLength > this.options.keyBytesMax) throw new RingtableError(ErrorCode.INVALID_OPTIONS, `range bounds are keys: at most keyBytesMax (${this.options.keyBytesMax}) bytes`);
    // Every key in [start, end) must lie in start's ring partition (so one replica set holds them all).
    const ring = this.coordinator.ring;
    const partition = ring.partitionOf(tokenOf(start));
    const space = new DataView(start.buffer, start.byteOffset, start.byteLength).getUint32(1);
    const nextToken = (partition + 1) * (TOKEN_SPACE / ring.partitionCount);
    const limitKey = nextToken < TOKEN_SPACE ? tokenBound(space, nextToken) : space < SPACE_MAX ? spacePrefix(space + 1) : new Uint8Array(6).fill(0xff);
    if (Buffer.compare(end, limitKey) > 0) throw new RingtableError(ErrorCode.INVALID_OPTIONS, `range end lies beyond start's ring partition (${partition})`);
    const limit = request.limit ?? RANGE_LIMIT_DEFAULT;
    if (!Number.isInteger(limit) || limit < 1 || limit > RANGE_ENTRIES_MAX) throw new RingtableError(ErrorCode.INVALID_OPTIONS, `range limit must be an integer in 1..${RANGE_ENTRIES_MAX}, got ${String(limit)}`);
    const bytesMax = request.bytesMax ?? RANGE_BYTES_DEFAULT;
    if (!Number.isInteger(bytesMax) || bytesMax < 1 || bytesMax > 0xffff_ffff) throw new RingtableError(ErrorCode.INVALID_OPTIONS, `range bytesMax must be a positive integer, got ${String(bytesMax)}`);
    if (request.reverse !== undefined && typeof request.reverse !== 'boolean') throw new RingtableError(ErrorCode.INVALID_OPTIONS, 'range reverse must be a boolean');
    return { start, end, reverse: request.reverse === true, limit, bytesMax, consistent: consistentOption(request) };
  }
}

function consistentOption(options: { consistent?: boolean } | undefined): boolean {
  if (options !== undefined && (options === null || typeof options !== 'object')) throw new RingtableError(ErrorCode.INVALID_OPTIONS, 'options must be an object');
  const consistent = options?.consistent;
  if (consistent !== undefined && typeof consistent !== 'boolean') throw new RingtableError(ErrorCode.INVALID_OPTIONS, 'consistent must be a boolean');
  return consistent === true;
}

function expectOf(expect: OrderedVersion | 'absent' | undefined): { expect: number; expectVersion: number } {
  if (expect === undefined) return { expect: ExpectKind.NONE, expectVersion: 0 };
  if (expect === 'absent') return { expect: ExpectKind.ABSENT, expectVersion: 0 };
  const version = parseVersion(expect);
  if (version === undefined) throw new RingtableError(ErrorCode.INVALID_OPTIONS, `expect must be 'absent' or a version writeOrdered or getOrdered returned, got ${String(expect)}`);
  return { expect: ExpectKind.VERSION, expectVersion: version };
}
