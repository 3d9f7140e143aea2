/**
 * A deleted table's stream. DeleteTable does not take a table's streams with
 * it: "If you have DynamoDB Streams enabled on the table, then the
 * corresponding stream on that table goes into the DISABLED state, and the
 * stream is automatically deleted after 24 hours" (API reference:
 * DeleteTable). Until then ListStreams lists it and DescribeStream,
 * GetShardIterator and GetRecords read it, as any disabled stream (DG:
 * Streams, "If you disable a stream, any shards that are open will be
 * closed. The data in the stream will continue to be readable for 24
 * hours"). The catalog keeps what reading it needs once the table is gone;
 * its records stay in their own space until it expires (stream-catalog.ts
 * `expiredStreams`). A disabled stream of a live table is kept the same
 * while (index-catalog.ts `pastStreams`).
 */
import type { StreamViewType } from './stream-shards.js';

export interface RetiredStream {
  readonly tableName: string;
  readonly label: string;
  readonly streamSpace: number;
  readonly viewType: StreamViewType;
  readonly createdMs: number;
  /** When it was disabled: its own disabling, or its table's deletion. */
  readonly disabledAtMs: number;
  /** The deleted table's KeySchema, which DescribeStream shows. */
  readonly keySchema: ReadonlyArray<{ readonly AttributeName: string; readonly KeyType: 'HASH' | 'RANGE' }>;
}
