/**
 * DynamoDB Streams over the engine: the thin shell of ListStreams,
 * DescribeStream, GetShardIterator, GetRecords, `Database.stream()` and the
 * retention trim. The pure parts are stream-shards.ts (names, positions,
 * checks), stream-record.ts (the Record shape), stream-catalog.ts (which
 * streams a table has) and indexes/change-log.ts (the record keys).
 *
 * A shard is one ring partition of the stream's space, its records keyed by
 * the leader's version (change-log.ts), so a shard read is one range read
 * from the partition's leader (consistent: every acknowledged record), in
 * sequence-number order, from just after the iterator's position.
 *
 * Retention: records older than `streamRetentionMs` (default 24 hours, DG:
 * Streams) are deleted in the background, a bounded number per second, from
 * the head of each shard; the highest version trimmed per shard is the trim
 * horizon (kept in memory: after a restart it is learnt again as the trim
 * proceeds).
 */
import { DynamoDbError } from '../dynamodb-error.js';
import { prefixEnd } from '../key-encoding.js';
import { anyTable, type CatalogState } from '../table-catalog.js';
import { tableArn, type ArnContext } from '../table-description.js';
import type { TableEngine } from '../table-engine.js';
import type { AttributeMap } from '../attribute-value.js';
import { logVersionOf, STREAM_RETENTION_MS, streamShardPrefix, type StreamRecord } from '../indexes/change-log.js';
import { retiredTableStream, streamsOf, type TableStream } from './stream-catalog.js';
import { streamRecordOutput, type StreamRecordOutput } from './stream-record.js';
import {
  checkDescribeStream,
  checkGetRecords,
  checkGetShardIterator,
  checkListStreams,
  decodeShardIterator,
  encodeShardIterator,
  GET_RECORDS_BYTES_MAX,
  parseSequenceNumber,
  parseShardId,
  parseStreamArn,
  sequenceNumberText,
  shardId,
  shardNotFound,
  startPosition,
  streamArn,
  streamNotFound,
} from './stream-shards.js';
import { ErrorCode, RingtableError } from '../../errors.js';

export interface StreamOptions {
  /** Records are trimmed this long after they were written (default 24 hours, DynamoDB's). */
  streamRetentionMs?: number;
  /** At most this many trimmed records per second (default 1,000), so foreground traffic keeps its share. */
  streamTrimPerSecondMax?: number;
  /** The streams' clock (epoch ms; default Date.now): record ages, iterator expiry, when a deleted table's stream was disabled. */
  streamClock?: () => number;
}

/** `db.stream(tableName, options)`. */
export interface StreamReadOptions {
  /** Where each shard starts: its oldest record, after its newest one now, or after the sequence number given per shard id. */
  from?: 'trim-horizon' | 'latest' | Readonly<Record<string, string>>;
  /** Pause when no shard had a record (default 100 ms). */
  pollIntervalMs?: number;
  /** Records read from one shard at a time: the bound on what is buffered (default 100). */
  batchSize?: number;
}

interface ShardRef {
  readonly stream: TableStream;
  readonly arn: string;
  /** The table's KeySchema (a deleted table's, as its retired stream keeps it). */
  readonly keySchema: ReadonlyArray<{ readonly AttributeName: string; readonly KeyType: string }>;
}

/** Records one trim pass reads from a shard's head. */
const TRIM_PAGE = 100;
const POLL_INTERVAL_MS_DEFAULT = 100;

export class StreamReader {
  private readonly trimmedThrough = new Map<string, number>();
  readonly retentionMs: number;
  private readonly trimPerSecondMax: number;
  private closed = false;
  private readonly sleepers = new Set<() => void>();
  private trimming: Promise<void> | undefined;
  readonly clock: () => number;

  constructor(
    private readonly engine: TableEngine,
    private readonly catalog: () => CatalogState,
    private readonly arn: ArnContext,
    options: StreamOptions,
    /** Each trim pass, after the records: drop the streams disabled at least the retention ago (the Database's catalog change). */
    private readonly expire: (nowMs: number, retentionMs: number) => Promise<void> = async () => {},
  ) {
    this.retentionMs = positive(options.streamRetentionMs ?? STREAM_RETENTION_MS, 'streamRetentionMs');
    this.trimPerSecondMax = positive(options.streamTrimPerSecondMax ?? 1000, 'streamTrimPerSecondMax');
    this.clock = options.streamClock ?? Date.now;
  }

  start(): void {
    this.trimming = this.trimLoop();
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const wake of [...this.sleepers]) wake();
    await this.trimming;
  }

  // ------------------------------------------------------------------ the Streams API

  async listStreams(input: Record<string, unknown>): Promise<{ Streams: Array<{ StreamArn: string; TableName: string; StreamLabel: string }>; LastEvaluatedStreamArn?: string }> {
    const request = checkListStreams(input);
    // By table name, each table's oldest first: a deleted table's streams (still readable) before its namesake's.
    const streams = this.allStreams()
      .filter((stream) => request.tableName === undefined || stream.tableName === request.tableName)
      .sort((a, b) => (a.tableName < b.tableName ? -1 : a.tableName > b.tableName ? 1 : a.createdMs - b.createdMs));
    const all = streams.map((stream) => ({ StreamArn: this.streamArnOf(stream), TableName: stream.tableName, StreamLabel: stream.label }));
    let from = 0;
    if (request.exclusiveStartStreamArn !== undefined) {
      const at = all.findIndex((stream) => stream.StreamArn === request.exclusiveStartStreamArn);
      from = at < 0 ? all.length : at + 1;
    }
    const page = all.slice(from, from + request.limit);
    const output: { Streams: typeof page; LastEvaluatedStreamArn?: string } = { Streams: page };
    if (from + request.limit < all.length) output.LastEvaluatedStreamArn = page[page.length - 1]!.StreamArn;
    return output;
  }

  async describeStream(input: Record<string, unknown>): Promise<{ StreamDescription: Record<string, unknown> }> {
    const request = checkDescribeStream(input);
    const ref = this.find(request.streamArn, request.stream.tableName, request.stream.label);
    const shardCount = this.engine.tokenRanges().length;
    let from = 0;
    if (request.exclusiveStartShardId !== undefined) {
      const index = parseShardId(ref.stream.label, request.exclusiveStartShardId);
      // An unknown start shard lists from the beginning [UNCONFIRMED against DynamoDB].
      from = index === undefined ? 0 : index + 1;
    }
    const to = Math.min(shardCount, from + request.limit);
    const shards: Array<Record<string, unknown>> = [];
    for (let index = from; index < to; index += 1) {
      const range: { StartingSequenceNumber: string; EndingSequenceNumber?: string } = { StartingSequenceNumber: sequenceNumberText(this.horizon(ref.stream, index) + 1) };
      if (!ref.stream.enabled) {
        const last = await this.lastVersion(ref.stream, index);
        range.EndingSequenceNumber = sequenceNumberText(Math.max(last, this.horizon(ref.stream, index) + 1));
      }
      shards.push({ ShardId: shardId(ref.stream.label, index), SequenceNumberRange: range });
    }
    const description: Record<string, unknown> = {
      StreamArn: ref.arn,
      StreamLabel: ref.stream.label,
      StreamStatus: ref.stream.enabled ? 'ENABLED' : 'DISABLED',
      StreamViewType: ref.stream.viewType,
      CreationRequestDateTime: new Date(ref.stream.createdMs),
      TableName: ref.stream.tableName,
      KeySchema: ref.keySchema.map(({ AttributeName, KeyType }) => ({ AttributeName, KeyType })),
      Shards: shards,
    };
    if (to < shardCount) description['LastEvaluatedShardId'] = shardId(ref.stream.label, to - 1);
    return { StreamDescription: description };
  }

  async getShardIterator(input: Record<string, unknown>, nowMs = this.clock()): Promise<{ ShardIterator: string }> {
    const request = checkGetShardIterator(input);
    const ref = this.find(request.streamArn, request.stream.tableName, request.stream.label);
    const index = this.shardIndex(ref, request.shardId, request.streamArn);
    const horizon = this.horizon(ref.stream, index);
    if (request.sequenceVersion !== undefined && request.sequenceVersion <= horizon) {
      // Streams API: TrimmedDataAccessException, "The operation attempted to read past the oldest
      // stream record in a shard". The message text here is ringtable's [UNCONFIRMED].
      throw new DynamoDbError('TrimmedDataAccessException', `Attempted to access data in shard ${request.shardId} that has been trimmed: sequence number ${sequenceNumberText(request.sequenceVersion)}`);
    }
    const last = request.type === 'LATEST' ? await this.lastVersion(ref.stream, index) : 0;
    const afterVersion = Math.max(request.type === 'TRIM_HORIZON' ? horizon : 0, startPosition(request, last));
    return { ShardIterator: encodeShardIterator({ streamArn: request.streamArn, shardIndex: index, afterVersion }, nowMs) };
  }

  async getRecords(input: Record<string, unknown>, nowMs = this.clock()): Promise<{ Records: StreamRecordOutput[]; NextShardIterator?: string }> {
    const request = checkGetRecords(input);
    const position = decodeShardIterator(request.iterator, nowMs);
    const identity = parseStreamArn(position.streamArn)!;
    const ref = this.find(position.streamArn, identity.tableName, identity.label);
    if (position.shardIndex < 0 || position.shardIndex >= this.engine.tokenRanges().length) throw shardNotFound(shardId(ref.stream.label, position.shardIndex), position.streamArn);
    const { records, more, lastVersion } = await this.readShard(ref, position.shardIndex, position.afterVersion, request.limit);
    const output: { Records: StreamRecordOutput[]; NextShardIterator?: string } = { Records: records };
    // A disabled stream's shards are closed: read to their end, they give no next iterator (Streams API: GetRecords).
    if (ref.stream.enabled || more) output.NextShardIterator = encodeShardIterator({ streamArn: position.streamArn, shardIndex: position.shardIndex, afterVersion: lastVersion }, nowMs);
    return output;
  }

  // ------------------------------------------------------------------ db.stream()

  /** Every record of the table's current stream, shard by shard in turn, polling when idle; ends when the database closes. */
  async *stream(tableName: string, options: StreamReadOptions = {}): AsyncGenerator<StreamRecordOutput, void, undefined> {
    const record = anyTable(this.catalog(), tableName);
    const current = streamsOf(record).at(-1);
    if (current === undefined) throw new DynamoDbError('ValidationException', `Table ${tableName} has no stream`);
    const ref: ShardRef = { stream: current, arn: this.streamArnOf(current), keySchema: record.request.KeySchema };
    const pollMs = options.pollIntervalMs ?? POLL_INTERVAL_MS_DEFAULT;
    const batch = Math.max(1, Math.min(1000, options.batchSize ?? 100));
    const shardCount = this.engine.tokenRanges().length;
    const positions: number[] = [];
    for (let index = 0; index < shardCount; index += 1) positions.push(await this.startOf(ref, index, options.from ?? 'trim-horizon'));
    while (!this.closed) {
      let read = 0;
      for (let index = 0; index < shardCount && !this.closed; index += 1) {
        const page = await this.readShard(ref, index, positions[index]!, batch);
        positions[index] = page.lastVersion;
        read += page.records.length;
        for (const output of page.records) yield output;
      }
      if (read === 0) await this.sleep(pollMs);
    }
  }

  private async startOf(ref: ShardRef, index: number, from: NonNullable<StreamReadOptions['from']>): Promise<number> {
    if (from === 'trim-horizon') return this.horizon(ref.stream, index);
    if (from === 'latest') return this.lastVersion(ref.stream, index);
    const given = from[shardId(ref.stream.label, index)];
    const version = given === undefined ? undefined : parseSequenceNumber(given);
    return version ?? this.horizon(ref.stream, index);
  }

  // ------------------------------------------------------------------ shards

  /** Records of one shard after `afterVersion`, up to `limit` and 1 MB, from the partition's leader. */
  private async readShard(ref: ShardRef, index: number, afterVersion: number, limit: number): Promise<{ records: StreamRecordOutput[]; more: boolean; lastVersion: number }> {
    const prefix = this.shardPrefix(ref.stream, index);
    const page = await this.engine.range({ start: versionKey(prefix, afterVersion + 1), end: prefixEnd(prefix)!, limit, bytesMax: GET_RECORDS_BYTES_MAX, consistent: true });
    let lastVersion = afterVersion;
    const records = page.entries.map((entry) => {
      const version = logVersionOf(entry.key);
      lastVersion = version;
      const logged = entry.value as StreamRecord;
      const change: Parameters<typeof streamRecordOutput>[0] = {
        eventName: logged.e,
        keys: logged.k,
        timestampMs: logged.t,
        version,
        byService: logged.s === 1,
        ...(logged.o === undefined ? {} : { oldImage: logged.o as AttributeMap }),
        ...(logged.n === undefined ? {} : { newImage: logged.n as AttributeMap }),
      };
      return streamRecordOutput(change, { streamArn: ref.arn, shardIndex: index, region: this.arn.region, viewType: ref.stream.viewType });
    });
    return { records, more: page.more, lastVersion };
  }

  /** The newest record's version in a shard (0: none). */
  private async lastVersion(stream: TableStream, index: number): Promise<number> {
    const prefix = this.shardPrefix(stream, index);
    const page = await this.engine.range({ start: prefix, end: prefixEnd(prefix)!, reverse: true, limit: 1, consistent: true });
    const last = page.entries[0];
    return last === undefined ? 0 : logVersionOf(last.key);
  }

  private shardPrefix(stream: TableStream, index: number): Uint8Array {
    return streamShardPrefix(stream.streamSpace, this.engine.tokenRanges()[index]!.tokenStart);
  }

  private horizon(stream: TableStream, index: number): number {
    return this.trimmedThrough.get(`${stream.streamSpace}/${index}`) ?? 0;
  }

  private shardIndex(ref: ShardRef, id: string, arn: string): number {
    const index = parseShardId(ref.stream.label, id);
    if (index === undefined || index >= this.engine.tokenRanges().length) throw shardNotFound(id, arn);
    return index;
  }

  private find(arn: string, tableName: string, label: string): ShardRef {
    const catalog = this.catalog();
    const record = Object.hasOwn(catalog.tables, tableName) ? catalog.tables[tableName] : undefined;
    const stream = record === undefined ? undefined : streamsOf(record).find((candidate) => candidate.label === label);
    if (record !== undefined && stream !== undefined && this.streamArnOf(stream) === arn) return { stream, arn, keySchema: record.request.KeySchema };
    // A deleted table's stream, readable until it expires (retired-stream.ts).
    const retired = (catalog.retiredStreams ?? []).find((candidate) => candidate.tableName === tableName && candidate.label === label);
    if (retired === undefined || this.streamArnOf(retiredTableStream(retired)) !== arn) throw streamNotFound(arn);
    return { stream: retiredTableStream(retired), arn, keySchema: retired.keySchema };
  }

  /** Every stream there is: the live tables' (enabled or disabled) and the deleted tables' not yet expired. */
  private allStreams(): TableStream[] {
    const catalog = this.catalog();
    const streams = Object.values(catalog.tables).flatMap((record) => streamsOf(record));
    for (const retired of catalog.retiredStreams ?? []) streams.push(retiredTableStream(retired));
    return streams;
  }

  private streamArnOf(stream: TableStream): string {
    return streamArn(tableArn(this.arn, stream.tableName), stream.label);
  }

  // ------------------------------------------------------------------ retention

  private async trimLoop(): Promise<void> {
    const intervalMs = Math.max(10, Math.min(60_000, this.retentionMs / 4));
    while (!this.closed) {
      try {
        const nowMs = this.clock();
        await this.trimOnce(nowMs);
        await this.expire(nowMs, this.retentionMs);
      } catch {
        // A node down or a table dropped under the trim: the next pass tries again.
      }
      await this.sleep(intervalMs);
    }
  }

  /** One pass: every shard's records older than the retention, deleted from the head, paced. */
  async trimOnce(nowMs: number): Promise<number> {
    let trimmed = 0;
    const shardCount = this.engine.tokenRanges().length;
    const catalog = this.catalog();
    const streams = Object.values(catalog.tables)
      .filter((record) => record.status === 'ACTIVE')
      .flatMap((record) => streamsOf(record))
      .concat((catalog.retiredStreams ?? []).map(retiredTableStream));
    for (const stream of streams) {
      for (let index = 0; index < shardCount && !this.closed; index += 1) {
        const prefix = this.shardPrefix(stream, index);
        const page = await this.engine.range({ start: prefix, end: prefixEnd(prefix)!, limit: TRIM_PAGE, consistent: true });
        for (const entry of page.entries) {
          if (nowMs - (entry.value as StreamRecord).t < this.retentionMs || this.closed) break;
          await this.engine.writeOrdered({ key: entry.key });
          this.trimmedThrough.set(`${stream.streamSpace}/${index}`, logVersionOf(entry.key));
          trimmed += 1;
          if (trimmed % this.trimPerSecondMax === 0) await this.sleep(1000);
        }
      }
    }
    return trimmed;
  }

  private sleep(ms: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      // The trim's pause must not keep a process alive that never closes its database.
      timer.unref();
      this.sleepers.add(wake);
    });
  }
}

function versionKey(prefix: Uint8Array, version: number): Uint8Array {
  const key = new Uint8Array(prefix.byteLength + 8);
  key.set(prefix, 0);
  new DataView(key.buffer).setBigUint64(prefix.byteLength, BigInt(version));
  return key;
}

function positive(value: number, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new RingtableError(ErrorCode.INVALID_OPTIONS, `${name} must be a positive number, got ${String(value)}`);
  return value;
}
