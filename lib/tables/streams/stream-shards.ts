/**
 * DynamoDB Streams' names and positions, purely: stream ARNs and labels,
 * shard ids, sequence numbers, shard iterators, and the checks of
 * ListStreams, DescribeStream, GetShardIterator and GetRecords (DynamoDB
 * Streams API reference; DG: Streams). Time is passed in.
 *
 * - A table's stream has one shard per ring partition. Each ring partition
 *   has one leader, whose versions grow with every write it orders, so the
 *   versions of a shard's records are its sequence numbers: strictly
 *   increasing within the shard, and every change of one item lands in one
 *   shard in commit order (DG: Streams: "in the same sequence as the actual
 *   modifications to the item"). Like a DynamoDB table with many partitions
 *   (and like ScyllaDB Alternator, whose streams have one shard per vnode),
 *   a reader must read every shard; `Database.stream()` does that for Node
 *   users. Shards never split here, so none has a parent.
 * - Shard ids sort in shard order (Kinesis, and Alternator's test_streams.py
 *   list_shards, require lexical order) and are at most 65 characters.
 * - Sequence numbers are decimal strings of 21 digits, as DynamoDB's are
 *   numeric-only (Alternator issue #7158: libraries rely on it).
 * - A shard iterator is an opaque token naming the stream, the shard and the
 *   last sequence number already read; it expires 15 minutes after it was
 *   made (Streams API: GetShardIterator, "A shard iterator expires 15
 *   minutes after it is returned to the requester").
 */
import { createHash } from 'node:crypto';
import { DynamoDbError, validationError } from '../dynamodb-error.js';
import { checkConstraints, constraintMessages, throwConstraintErrors } from '../request-constraints.js';

export type StreamViewType = 'KEYS_ONLY' | 'NEW_IMAGE' | 'OLD_IMAGE' | 'NEW_AND_OLD_IMAGES';
export const STREAM_VIEW_TYPES: readonly StreamViewType[] = ['NEW_IMAGE', 'OLD_IMAGE', 'NEW_AND_OLD_IMAGES', 'KEYS_ONLY'];
export type ShardIteratorType = 'TRIM_HORIZON' | 'LATEST' | 'AT_SEQUENCE_NUMBER' | 'AFTER_SEQUENCE_NUMBER';
const SHARD_ITERATOR_TYPES: readonly ShardIteratorType[] = ['TRIM_HORIZON', 'LATEST', 'AT_SEQUENCE_NUMBER', 'AFTER_SEQUENCE_NUMBER'];

export const SHARD_ITERATOR_LIFETIME_MS = 15 * 60 * 1000;
/** GetRecords returns at most 1,000 records or 1 MB (Streams API: GetRecords). */
export const GET_RECORDS_LIMIT_MAX = 1000;
export const GET_RECORDS_BYTES_MAX = 1024 * 1024;
/** DescribeStream and ListStreams list at most 100 (Streams API). */
export const LIST_LIMIT_MAX = 100;
const SEQUENCE_DIGITS = 21;

export interface StreamIdentity {
  readonly tableName: string;
  /** ISO 8601 time of the stream's creation, without the zone, as DynamoDB's labels are. */
  readonly label: string;
}

export function streamLabel(createdMs: number): string {
  return new Date(createdMs).toISOString().replace(/Z$/, '');
}

export function streamArn(tableArn: string, label: string): string {
  return `${tableArn}/stream/${label}`;
}

/** The table name and label of a stream ARN this service made, or undefined. */
export function parseStreamArn(arn: string): StreamIdentity | undefined {
  const match = /^arn:aws:dynamodb:[^:]*:[^:]*:table\/([a-zA-Z0-9_.-]{3,255})\/stream\/(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})$/.exec(arn);
  if (match === null) return undefined;
  return { tableName: match[1]!, label: match[2]! };
}

function labelTag(label: string): string {
  return createHash('sha256').update(label).digest('hex').slice(0, 8);
}

export function shardId(label: string, shardIndex: number): string {
  return `shardId-${String(shardIndex).padStart(20, '0')}-${labelTag(label)}`;
}

/** The shard index of a shard id of this stream, or undefined. */
export function parseShardId(label: string, id: string): number | undefined {
  const match = /^shardId-(\d{20})-([0-9a-f]{8})$/.exec(id);
  if (match === null || match[2] !== labelTag(label)) return undefined;
  const index = Number(match[1]);
  return Number.isSafeInteger(index) ? index : undefined;
}

export function sequenceNumberText(version: number): string {
  return String(version).padStart(SEQUENCE_DIGITS, '0');
}

/** The version a sequence number names, or undefined when it is not one. */
export function parseSequenceNumber(text: string): number | undefined {
  if (!/^\d{1,40}$/.test(text)) return undefined;
  const version = Number(text);
  return Number.isSafeInteger(version) ? version : undefined;
}

interface IteratorFields {
  /** Stream ARN. */
  a: string;
  /** Shard index. */
  s: number;
  /** Records after this version. */
  p: number;
  /** Made at (ms). */
  m: number;
}

export interface ShardPosition {
  readonly streamArn: string;
  readonly shardIndex: number;
  /** The next record read is the first whose version is above this. */
  readonly afterVersion: number;
}

export function encodeShardIterator(position: ShardPosition, nowMs: number): string {
  const fields: IteratorFields = { a: position.streamArn, s: position.shardIndex, p: position.afterVersion, m: nowMs };
  return Buffer.from(JSON.stringify(fields)).toString('base64url');
}

/** GetRecords' iterator: well formed, else ValidationException; not expired, else ExpiredIteratorException. */
export function decodeShardIterator(iterator: string, nowMs: number): ShardPosition {
  let fields: Partial<IteratorFields> | undefined;
  try {
    fields = JSON.parse(Buffer.from(iterator, 'base64url').toString('utf8')) as Partial<IteratorFields>;
  } catch {
    fields = undefined;
  }
  if (
    fields === undefined || fields === null || typeof fields.a !== 'string' || parseStreamArn(fields.a) === undefined ||
    !Number.isSafeInteger(fields.s) || !Number.isSafeInteger(fields.p) || !Number.isSafeInteger(fields.m)
  ) {
    throw validationError('Invalid ShardIterator');
  }
  if (nowMs - fields.m! > SHARD_ITERATOR_LIFETIME_MS) throw new DynamoDbError('ExpiredIteratorException', 'Iterator expired');
  return { streamArn: fields.a, shardIndex: fields.s!, afterVersion: fields.p! };
}

// ------------------------------------------------------------------ request checks

export interface ListStreamsRequest {
  readonly tableName: string | undefined;
  readonly limit: number;
  readonly exclusiveStartStreamArn: string | undefined;
}

export function checkListStreams(input: Readonly<Record<string, unknown>>): ListStreamsRequest {
  throwConstraintErrors([
    ...constraintMessages(input['Limit'], { field: 'Limit', min: 1, max: LIST_LIMIT_MAX }),
    ...constraintMessages(input['TableName'], { field: 'TableName', name: true }),
    ...constraintMessages(input['ExclusiveStartStreamArn'], { field: 'ExclusiveStartStreamArn', lengthMin: 37, lengthMax: 1024 }),
  ]);
  const start = input['ExclusiveStartStreamArn'] as string | undefined;
  if (start !== undefined && parseStreamArn(start) === undefined) throw validationError(`Invalid StreamArn: ${start}`);
  return { tableName: input['TableName'] as string | undefined, limit: (input['Limit'] as number | undefined) ?? LIST_LIMIT_MAX, exclusiveStartStreamArn: start };
}

export interface DescribeStreamRequest {
  readonly stream: StreamIdentity;
  readonly streamArn: string;
  readonly limit: number;
  readonly exclusiveStartShardId: string | undefined;
}

export function checkDescribeStream(input: Readonly<Record<string, unknown>>): DescribeStreamRequest {
  checkConstraints(input, [
    { field: 'StreamArn', notNull: true, lengthMin: 37, lengthMax: 1024 },
    { field: 'Limit', min: 1, max: LIST_LIMIT_MAX },
    { field: 'ExclusiveStartShardId', lengthMin: 28, lengthMax: 65 },
  ]);
  const arn = input['StreamArn'] as string;
  const stream = parseStreamArn(arn);
  if (stream === undefined) throw validationError(`Invalid StreamArn: ${arn}`);
  return { stream, streamArn: arn, limit: (input['Limit'] as number | undefined) ?? LIST_LIMIT_MAX, exclusiveStartShardId: input['ExclusiveStartShardId'] as string | undefined };
}

export interface GetShardIteratorRequest {
  readonly stream: StreamIdentity;
  readonly streamArn: string;
  readonly shardId: string;
  readonly type: ShardIteratorType;
  /** For AT_ and AFTER_SEQUENCE_NUMBER. */
  readonly sequenceVersion: number | undefined;
}

export function checkGetShardIterator(input: Readonly<Record<string, unknown>>): GetShardIteratorRequest {
  checkConstraints(input, [
    { field: 'StreamArn', notNull: true, lengthMin: 37, lengthMax: 1024 },
    { field: 'ShardId', notNull: true, lengthMin: 28, lengthMax: 65 },
    { field: 'ShardIteratorType', notNull: true, values: SHARD_ITERATOR_TYPES },
    { field: 'SequenceNumber', lengthMin: 21, lengthMax: 40 },
  ]);
  const arn = input['StreamArn'] as string;
  const stream = parseStreamArn(arn);
  if (stream === undefined) throw validationError(`Invalid StreamArn: ${arn}`);
  const type = input['ShardIteratorType'] as ShardIteratorType;
  const sequence = input['SequenceNumber'] as string | undefined;
  const needsSequence = type === 'AT_SEQUENCE_NUMBER' || type === 'AFTER_SEQUENCE_NUMBER';
  // Alternator's test_get_shard_iterator, run against AWS: a sequence number is required by the
  // two sequence types and refused by the others.
  if (needsSequence && sequence === undefined) throw validationError(`Must specify a sequence number when the ShardIteratorType is ${type}`);
  if (!needsSequence && sequence !== undefined) throw validationError(`Must not specify a sequence number when the ShardIteratorType is ${type}`);
  let sequenceVersion: number | undefined;
  if (sequence !== undefined) {
    sequenceVersion = parseSequenceNumber(sequence);
    if (sequenceVersion === undefined) throw validationError(`Invalid SequenceNumber: ${sequence}`);
  }
  return { stream, streamArn: arn, shardId: input['ShardId'] as string, type, sequenceVersion };
}

export interface GetRecordsRequest {
  readonly iterator: string;
  readonly limit: number;
}

export function checkGetRecords(input: Readonly<Record<string, unknown>>): GetRecordsRequest {
  checkConstraints(input, [
    { field: 'ShardIterator', notNull: true, lengthMin: 1, lengthMax: 2048 },
    { field: 'Limit', min: 1, max: GET_RECORDS_LIMIT_MAX },
  ]);
  return { iterator: input['ShardIterator'] as string, limit: (input['Limit'] as number | undefined) ?? GET_RECORDS_LIMIT_MAX };
}

export function streamNotFound(arn: string): DynamoDbError {
  return new DynamoDbError('ResourceNotFoundException', `Requested resource not found: Stream: ${arn} not found`);
}

export function shardNotFound(id: string, arn: string): DynamoDbError {
  return new DynamoDbError('ResourceNotFoundException', `Requested resource not found: Shard does not exist: ${id} in stream ${arn}`);
}

/** The position a GetShardIterator request starts after, given the shard's last version (LATEST) and its first retained one. */
export function startPosition(request: GetShardIteratorRequest, lastVersion: number): number {
  switch (request.type) {
    case 'TRIM_HORIZON':
      return 0;
    case 'LATEST':
      return lastVersion;
    case 'AT_SEQUENCE_NUMBER':
      return request.sequenceVersion! - 1;
    case 'AFTER_SEQUENCE_NUMBER':
      return request.sequenceVersion!;
  }
}
