/**
 * Streams' pure parts beyond stream-shards.ts: a table's streams in the
 * catalog (stream-catalog.ts), the record keys of a shard (change-log.ts),
 * and the engine's condition on a multi-key write's keys (ring.ts).
 */
import t from 'tap';
import fc from 'fast-check';
import { Ring, sameRingPartition } from '../lib/ring/ring.js';
import { hashKey32 } from '../lib/ring/hash.js';
import { isWellFormedPartitionedKey, tokenOf } from '../lib/ring/partitioned-key.js';
import { shardTokenStart, streamShardPrefix } from '../lib/tables/indexes/change-log.js';
import { agedOutStreams, withStreamSpecification } from '../lib/tables/streams/stream-catalog.js';
import { NO_INDEXES } from '../lib/tables/indexes/index-catalog.js';

t.test('a stream record key lies in its item token\'s ring partition, and a shard sorts by version', async (t) => {
  const ring = Ring.create([1, 2, 3, 4], 4);
  fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (token) => {
    const start = shardTokenStart(token, ring.partitionCount);
    const prefix = streamShardPrefix(7, start);
    return isWellFormedPartitionedKey(prefix) && hashKey32(prefix) === start && sameRingPartition(ring, tokenOf(prefix), token) && ring.partitionOf(start) === ring.partitionOf(token);
  }));
  const other = shardTokenStart(2 ** 31, ring.partitionCount);
  t.notOk(sameRingPartition(ring, 0, other), 'another ring partition');
});

t.test('disabling keeps the stream and its label; enabling again makes a new stream in a new space', async (t) => {
  const created = withStreamSpecification(NO_INDEXES, { StreamEnabled: true, StreamViewType: 'KEYS_ONLY' }, 10, Date.UTC(2026, 0, 1));
  t.equal(created.nextId, 11);
  t.equal(created.indexes.stream?.streamSpace, 10);
  const disabled = withStreamSpecification(created.indexes, { StreamEnabled: false }, created.nextId, Date.UTC(2026, 0, 2));
  t.equal(disabled.indexes.stream?.label, created.indexes.stream?.label, 'the label stays');
  t.equal(disabled.indexes.stream?.specification.StreamEnabled, false);
  t.equal(disabled.indexes.stream?.specification.StreamViewType, 'KEYS_ONLY', 'its records keep their view type');
  const again = withStreamSpecification(disabled.indexes, { StreamEnabled: true, StreamViewType: 'NEW_IMAGE' }, disabled.nextId, Date.UTC(2026, 0, 2));
  t.equal(again.indexes.stream?.streamSpace, 11, 'a new space');
  t.not(again.indexes.stream?.label, created.indexes.stream?.label, 'a new label');
  t.same(again.indexes.pastStreams?.map((s) => s.streamSpace), [10]);
  const quick = withStreamSpecification(withStreamSpecification(again.indexes, { StreamEnabled: false }, 12, Date.UTC(2026, 0, 2)).indexes, { StreamEnabled: true, StreamViewType: 'NEW_IMAGE' }, 12, Date.UTC(2026, 0, 2));
  t.not(quick.indexes.stream?.label, again.indexes.stream?.label, 'labels differ even within one millisecond');
  const aged = agedOutStreams(again.indexes, Date.UTC(2026, 0, 3, 1), 24 * 3600_000);
  t.same(aged.spaces, [10], 'a past stream ages out a retention after it was disabled');
  t.same(aged.indexes.pastStreams, []);
  t.same(agedOutStreams(again.indexes, Date.UTC(2026, 0, 2, 12), 24 * 3600_000).spaces, []);
});
