/**
 * A DynamoDB access pattern for `ringtable bench tables` and the
 * hot-partition demonstration: the table's key design (partition-key
 * cardinality, items per partition key, how skewed the choice of partition
 * key is), its throughput, and the request mix (read/write, consistent-read
 * share, item size). Pure: `nextRequest` draws from the Prng it is given,
 * so a seed replays the stream.
 */
import assert from 'node:assert/strict';
import type { Prng } from '../../lib/prng.js';
import type { KeyChooser } from '../ycsb/key-chooser.js';
import { UniformGenerator } from '../ycsb/uniform.js';
import { nextUnitDouble } from '../ycsb/unit-interval.js';
import { ZipfianGenerator } from '../ycsb/zipfian.js';

export type Skew = 'uniform' | 'zipfian';
export type BillingMode = 'PROVISIONED' | 'PAY_PER_REQUEST';

export interface TableDesign {
  /** The table's name (and the design's, in reports). */
  table: string;
  /** How many distinct partition-key values the traffic uses. */
  partitionKeys: number;
  /** Partition-key values, when they have names (the STATUS example's ACTIVE, INACTIVE); else `${table}-<n>`. */
  partitionKeyNames?: readonly string[] | undefined;
  /** Items per partition key (sort keys 0 .. n-1); 1 means a table without a sort key. */
  itemsPerPartitionKey: number;
  /** How partition-key values are chosen: uniformly, or zipfian (value 0 the hottest). */
  skew: Skew;
  /** Zipfian constant, 0 < theta < 1. */
  theta: number;
  /** Bytes of the payload attribute of every item written. */
  itemBytes: number;
  /** Share of requests that are GetItem; the rest are PutItem. */
  readFraction: number;
  /** Share of reads with ConsistentRead (they cost twice an eventual read). */
  consistentReadFraction: number;
  billingMode: BillingMode;
  /** PROVISIONED only. */
  readCapacityUnits: number;
  writeCapacityUnits: number;
}

export interface TableRequest {
  kind: 'read' | 'write';
  partitionKey: string;
  /** Present when the design has more than one item per partition key. */
  sortKey?: number | undefined;
  consistent: boolean;
}

export const PARTITION_KEYS_MAX = 10_000_000;
export const ITEM_BYTES_MAX = 350 * 1024;

export function checkDesign(design: TableDesign): void {
  assert.ok(Number.isInteger(design.partitionKeys) && design.partitionKeys >= 1 && design.partitionKeys <= PARTITION_KEYS_MAX, `partition keys must be an integer in [1, ${PARTITION_KEYS_MAX}]`);
  assert.ok(design.partitionKeyNames === undefined || design.partitionKeyNames.length === design.partitionKeys, 'one name per partition key');
  assert.ok(Number.isInteger(design.itemsPerPartitionKey) && design.itemsPerPartitionKey >= 1, 'items per partition key must be an integer >= 1');
  assert.ok(design.theta > 0 && design.theta < 1, 'theta must be in (0, 1)');
  assert.ok(Number.isInteger(design.itemBytes) && design.itemBytes >= 0 && design.itemBytes <= ITEM_BYTES_MAX, `item bytes must be an integer in [0, ${ITEM_BYTES_MAX}]`);
  for (const fraction of [design.readFraction, design.consistentReadFraction]) assert.ok(fraction >= 0 && fraction <= 1, 'fractions must be in [0, 1]');
}

/** The generator of one design's requests. */
export class RequestStream {
  readonly design: TableDesign;
  readonly #keys: KeyChooser;

  constructor(design: TableDesign) {
    checkDesign(design);
    this.design = design;
    this.#keys = design.skew === 'uniform' ? new UniformGenerator() : new ZipfianGenerator(design.partitionKeys, design.theta);
  }

  next(prng: Prng): TableRequest {
    const design = this.design;
    const index = this.#keys.next(prng, design.partitionKeys);
    const partitionKey = design.partitionKeyNames?.[index] ?? `${design.table}-${index}`;
    const sortKey = design.itemsPerPartitionKey > 1 ? prng.nextBelow(design.itemsPerPartitionKey) : undefined;
    const kind = nextUnitDouble(prng) < design.readFraction ? 'read' : 'write';
    return { kind, partitionKey, sortKey, consistent: kind === 'read' && nextUnitDouble(prng) < design.consistentReadFraction };
  }
}
