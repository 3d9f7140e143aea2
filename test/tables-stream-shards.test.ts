/**
 * DynamoDB Streams' names, positions and request checks (pure):
 * stream-shards.ts and stream-record.ts.
 */
import t from 'tap';
import fc from 'fast-check';
import {
  checkDescribeStream,
  checkGetRecords,
  checkGetShardIterator,
  checkListStreams,
  decodeShardIterator,
  encodeShardIterator,
  parseSequenceNumber,
  parseShardId,
  parseStreamArn,
  sequenceNumberText,
  SHARD_ITERATOR_LIFETIME_MS,
  shardId,
  startPosition,
  streamArn,
  streamLabel,
} from '../lib/tables/streams/stream-shards.js';
import { streamRecordOutput } from '../lib/tables/streams/stream-record.js';
import { dynamoDbFailure } from './helpers/dynamodb-failure.js';

const TABLE_ARN = 'arn:aws:dynamodb:ddblocal:000000000000:table/orders';
const LABEL = streamLabel(Date.UTC(2026, 11, 6, 5, 20, 0, 123));
const ARN = streamArn(TABLE_ARN, LABEL);

t.test('stream ARNs and labels', async (t) => {
  t.equal(LABEL, '2026-12-06T05:20:00.123');
  t.equal(ARN, 'arn:aws:dynamodb:ddblocal:000000000000:table/orders/stream/2026-12-06T05:20:00.123');
  t.same(parseStreamArn(ARN), { tableName: 'orders', label: LABEL });
  t.equal(parseStreamArn('sdfadfsdfnlfkajakfgjalksfgklasjklasdjfklasdfasdfgasf'), undefined);
  t.equal(parseStreamArn(`${TABLE_ARN}/stream/yesterday`), undefined);
});

t.test('shard ids sort in shard order, name their stream, and fit 65 characters', async (t) => {
  const ids = Array.from({ length: 300 }, (_, index) => shardId(LABEL, index));
  t.same([...ids].sort(), ids, 'lexical order is shard order');
  t.ok(ids.every((id) => id.length <= 65 && id.length >= 28));
  t.equal(parseShardId(LABEL, ids[42]!), 42);
  t.equal(parseShardId(streamLabel(0), ids[42]!), undefined, 'another stream of the table does not own this shard');
  t.equal(parseShardId(LABEL, 'adfasdasdasdasdasdasdasdasdasasdasd'), undefined);
});

t.test('sequence numbers are 21-digit decimals that order as their versions', async (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), (a, b) => {
      const x = sequenceNumberText(a);
      const y = sequenceNumberText(b);
      return /^\d{21}$/.test(x) && parseSequenceNumber(x) === a && Math.sign(a - b) === (x < y ? -1 : x > y ? 1 : 0);
    }),
  );
  t.equal(parseSequenceNumber('sdfsafglldfngjdafnasdflgnaldklkafdsgklnasdlv'), undefined);
});

t.test('shard iterators: round trip, forged, expired', async (t) => {
  const iterator = encodeShardIterator({ streamArn: ARN, shardIndex: 7, afterVersion: 123 }, 1000);
  t.same(decodeShardIterator(iterator, 1000 + SHARD_ITERATOR_LIFETIME_MS), { streamArn: ARN, shardIndex: 7, afterVersion: 123 });
  t.same(dynamoDbFailure(() => decodeShardIterator(iterator, 1001 + SHARD_ITERATOR_LIFETIME_MS)), { name: 'ExpiredIteratorException', message: 'Iterator expired' });
  for (const forged of ['sdfsdfsgagaddafgagasgasgasdfasdfasdfasdfasdgasdasdgasdg', Buffer.from('{"a":"x","s":1,"p":2,"m":3}').toString('base64url'), Buffer.from('null').toString('base64url')]) {
    t.same(dynamoDbFailure(() => decodeShardIterator(forged, 1000)), { name: 'ValidationException', message: 'Invalid ShardIterator' });
  }
});

t.test('GetShardIterator: a sequence number exactly for the sequence types; each start position', async (t) => {
  const request = (input: Record<string, unknown>) => checkGetShardIterator({ StreamArn: ARN, ShardId: shardId(LABEL, 0), ...input });
  const seq = sequenceNumberText(500);
  for (const type of ['AT_SEQUENCE_NUMBER', 'AFTER_SEQUENCE_NUMBER']) {
    t.equal(dynamoDbFailure(() => request({ ShardIteratorType: type })).name, 'ValidationException', `${type} needs a sequence number`);
  }
  for (const type of ['TRIM_HORIZON', 'LATEST']) {
    t.equal(dynamoDbFailure(() => request({ ShardIteratorType: type, SequenceNumber: seq })).name, 'ValidationException', `${type} takes none`);
  }
  t.match(dynamoDbFailure(() => request({ ShardIteratorType: 'bulle', SequenceNumber: seq })).message, /shardIteratorType.*enum value set/);
  t.equal(dynamoDbFailure(() => request({ StreamArn: 'sdfadsfsdfsdgdfsgsfdabadfbabdadsfsdfsdfsdfsdfsdfsdfdfdssdffbdfdf', ShardIteratorType: 'LATEST' })).name, 'ValidationException');
  t.equal(startPosition(request({ ShardIteratorType: 'TRIM_HORIZON' }), 900), 0);
  t.equal(startPosition(request({ ShardIteratorType: 'LATEST' }), 900), 900);
  t.equal(startPosition(request({ ShardIteratorType: 'AT_SEQUENCE_NUMBER', SequenceNumber: seq }), 900), 499);
  t.equal(startPosition(request({ ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: seq }), 900), 500);
});

t.test('ListStreams, DescribeStream and GetRecords limits', async (t) => {
  t.match(dynamoDbFailure(() => checkListStreams({ Limit: 0 })).message, /limit.*greater than or equal to 1/);
  t.match(dynamoDbFailure(() => checkListStreams({ Limit: 101 })).message, /limit.*less than or equal to 100/);
  t.equal(dynamoDbFailure(() => checkListStreams({ ExclusiveStartStreamArn: 'kossaapaaasdafsdaasdasdasdasasdasfadfadfasdasdas' })).name, 'ValidationException');
  t.same(checkListStreams({}), { tableName: undefined, limit: 100, exclusiveStartStreamArn: undefined });
  t.equal(dynamoDbFailure(() => checkDescribeStream({ StreamArn: 'sdfadfsdfnlfkajakfgjalksfgklasjklasdjfklasdfasdfgasf' })).name, 'ValidationException');
  t.match(dynamoDbFailure(() => checkDescribeStream({})).message, /streamArn.*must not be null/);
  t.match(dynamoDbFailure(() => checkGetRecords({ ShardIterator: 'x', Limit: 1001 })).message, /limit.*less than or equal to 1000/);
  t.same(checkGetRecords({ ShardIterator: 'x' }), { iterator: 'x', limit: 1000 });
});

t.test('records: images by view type, ids stable, TTL deletions marked as the service', async (t) => {
  const change = {
    eventName: 'MODIFY' as const,
    keys: { p: { S: 'a' } },
    oldImage: { p: { S: 'a' }, v: { N: '1' } },
    newImage: { p: { S: 'a' }, v: { N: '2' } },
    timestampMs: 1_700_000_000_999,
    version: 77,
  };
  const context = { streamArn: ARN, shardIndex: 3, region: 'ddblocal' };
  const both = streamRecordOutput(change, { ...context, viewType: 'NEW_AND_OLD_IMAGES' });
  t.same(both.dynamodb.OldImage, change.oldImage);
  t.same(both.dynamodb.NewImage, change.newImage);
  t.equal(both.dynamodb.SequenceNumber, '000000000000000000077');
  t.equal(both.dynamodb.ApproximateCreationDateTime, 1_700_000_000);
  t.equal(both.eventVersion, '1.1');
  t.equal(both.eventSource, 'aws:dynamodb');
  t.equal(both.userIdentity, undefined);
  t.equal(streamRecordOutput(change, { ...context, viewType: 'NEW_AND_OLD_IMAGES' }).eventID, both.eventID, 'the same record has the same id');
  const keysOnly = streamRecordOutput(change, { ...context, viewType: 'KEYS_ONLY' });
  t.notOk('OldImage' in keysOnly.dynamodb || 'NewImage' in keysOnly.dynamodb);
  t.notOk('OldImage' in streamRecordOutput(change, { ...context, viewType: 'NEW_IMAGE' }).dynamodb);
  t.notOk('NewImage' in streamRecordOutput(change, { ...context, viewType: 'OLD_IMAGE' }).dynamodb);
  const expired = streamRecordOutput({ eventName: 'REMOVE', keys: change.keys, oldImage: change.oldImage, timestampMs: 0, version: 78, byService: true }, { ...context, viewType: 'NEW_AND_OLD_IMAGES' });
  t.same(expired.userIdentity, { PrincipalId: 'dynamodb.amazonaws.com', Type: 'Service' });
  t.not(expired.eventID, both.eventID);
});
