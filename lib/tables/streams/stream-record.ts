/**
 * A stream record as DynamoDB Streams returns it (Streams API reference:
 * Record, StreamRecord, Identity), from a change the table's write logged
 * (indexes/change-log.ts), purely.
 *
 * - eventName INSERT, MODIFY or REMOVE; eventVersion "1.1"; eventSource
 *   "aws:dynamodb" (dynalite's test/getRecords.js, recorded against DynamoDB).
 * - dynamodb.Keys always; OldImage and NewImage as the view type keeps them;
 *   SequenceNumber; SizeBytes (the keys and images, counted as items are);
 *   ApproximateCreationDateTime in epoch seconds (the wire's timestamp form).
 * - A deletion by Time to Live carries userIdentity
 *   { type: "Service", principalId: "dynamodb.amazonaws.com" }
 *   (DG: TTL and Streams).
 * - eventID is unique per record: derived from the stream, shard and
 *   sequence number, so a record read twice has one id.
 */
import { createHash } from 'node:crypto';
import type { AttributeMap } from '../attribute-value.js';
import { itemSize } from '../item-size.js';
import { sequenceNumberText, type StreamViewType } from './stream-shards.js';

export interface LoggedStreamChange {
  readonly eventName: 'INSERT' | 'MODIFY' | 'REMOVE';
  readonly keys: AttributeMap;
  readonly oldImage?: AttributeMap;
  readonly newImage?: AttributeMap;
  readonly timestampMs: number;
  /** The leader's version of the change: its sequence number. */
  readonly version: number;
  /** Deleted by Time to Live. */
  readonly byService?: boolean;
}

export interface StreamRecordOutput {
  eventID: string;
  eventName: 'INSERT' | 'MODIFY' | 'REMOVE';
  eventVersion: '1.1';
  eventSource: 'aws:dynamodb';
  awsRegion: string;
  dynamodb: {
    ApproximateCreationDateTime: number;
    Keys: AttributeMap;
    NewImage?: AttributeMap;
    OldImage?: AttributeMap;
    SequenceNumber: string;
    SizeBytes: number;
    StreamViewType: StreamViewType;
  };
  userIdentity?: { PrincipalId: string; Type: string };
}

export function streamRecordOutput(change: LoggedStreamChange, context: { streamArn: string; shardIndex: number; region: string; viewType: StreamViewType }): StreamRecordOutput {
  const sequenceNumber = sequenceNumberText(change.version);
  const dynamodb: StreamRecordOutput['dynamodb'] = {
    ApproximateCreationDateTime: Math.floor(change.timestampMs / 1000),
    Keys: change.keys,
    SequenceNumber: sequenceNumber,
    SizeBytes: itemSize(change.keys) + (change.newImage === undefined ? 0 : itemSize(change.newImage)) + (change.oldImage === undefined ? 0 : itemSize(change.oldImage)),
    StreamViewType: context.viewType,
  };
  if (change.newImage !== undefined && (context.viewType === 'NEW_IMAGE' || context.viewType === 'NEW_AND_OLD_IMAGES')) dynamodb.NewImage = change.newImage;
  if (change.oldImage !== undefined && (context.viewType === 'OLD_IMAGE' || context.viewType === 'NEW_AND_OLD_IMAGES')) dynamodb.OldImage = change.oldImage;
  const record: StreamRecordOutput = {
    eventID: createHash('sha256').update(`${context.streamArn}\u0000${context.shardIndex}\u0000${sequenceNumber}`).digest('hex').slice(0, 32),
    eventName: change.eventName,
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: context.region,
    dynamodb,
  };
  if (change.byService === true) record.userIdentity = { PrincipalId: 'dynamodb.amazonaws.com', Type: 'Service' };
  return record;
}
