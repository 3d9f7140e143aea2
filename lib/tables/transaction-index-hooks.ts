/**
 * What ties the transaction coordinator (transactions/) to the secondary
 * indexes and streams (indexes/) and to the capacity model
 * (table-capacity.ts), which were built apart and know nothing of each
 * other. The coordinator calls these through its host (TransactionHost):
 *
 * - admitWrite, before an action's item is prepared: the LSI item
 *   collection bound (an action that grows a full collection is refused
 *   with ItemCollectionSizeLimitExceeded, API:TransactionCanceledException),
 *   then the write's capacity, doubled for a transaction (reference §3,
 *   DG:transaction-apis#transaction-capacity-handling), with its GSIs' parts
 *   (GSI back-pressure, reference §10, §15). A throttle refuses the action
 *   and so cancels the transaction with nothing applied.
 * - changeWrites, when a committed item is rewritten from its prepared form
 *   to its next image: the LSI entries, GSI change records and stream
 *   record of prior -> next, written in that same atomic write (exactly
 *   once: its compare-and-set on the prepared version succeeds once). The
 *   collection bound was checked at prepare: a decided transaction cannot fail.
 * - admitRead, for each item of a TransactGetItems: its read units, doubled.
 */
import type { AttributeMap } from './attribute-value.js';
import { getItemCapacity, writeItemCapacity } from './capacity-units.js';
import { itemSize } from './item-size.js';
import type { TableRecord } from './table-catalog.js';
import { chargedKey, keyLabel, type IndexWriteCharge, type TableCapacity } from './table-capacity.js';
import type { PrimaryKeyValues } from './table-schema.js';
import type { SecondaryIndexes } from './indexes/secondary-indexes.js';
import { indexWriteParts } from './indexes/index-write-charge.js';
import { addIndexUnits, indexWriteUnits, localIndexUnits, NO_INDEX_UNITS, withIndexParts, type IndexUnits } from './indexes/index-capacity.js';
import { baseKeyOf } from './indexes/index-entry.js';
import type { TransactionHost } from './transactions/transaction-coordinator.js';
import type { TransactWriteAction, TransactWriteItemsOutput, TransactWritePlan } from './transactions/transact-write-items.js';
import type { ItemCollectionMetrics } from './indexes/item-collection.js';
import type { Request } from './item-request.js';

export interface TransactionIndexContext {
  indexes(): SecondaryIndexes;
  /** undefined while capacity is 'off'. */
  capacity(): TableCapacity | undefined;
  table(tableName: string): TableRecord;
  itemKey(record: TableRecord, key: PrimaryKeyValues): Uint8Array;
}

export function transactionIndexHooks(context: TransactionIndexContext): Pick<TransactionHost, 'admitWrite' | 'changeWrites' | 'admitRead'> {
  return {
    async admitWrite(action, prior, next) {
      if (action.kind !== 'ConditionCheck') await context.indexes().checkCollection(action.tableName, action.key, prior, next);
      const record = context.table(action.tableName);
      // What the action costs the table's indexes, for the answer's ConsumedCapacity (transactionIndexCapacity).
      if (action.kind !== 'ConditionCheck') actionIndexUnits.set(action, indexWriteUnits(record, prior, next, true));
      const capacity = context.capacity();
      if (capacity === undefined) return;
      const priorBytes = prior === undefined ? undefined : itemSize(prior);
      // A ConditionCheck is charged as the answer's ConsumedCapacity counts it: a write of the item's size.
      const nextBytes = action.kind === 'ConditionCheck' ? priorBytes : next === undefined ? undefined : itemSize(next);
      const gsi = action.kind === 'ConditionCheck' ? [] : indexWriteCharges(record, prior, next, true);
      // The LSIs' parts share the table's throughput (index-capacity.ts): charged with the table's.
      const lsi = action.kind === 'ConditionCheck' ? 0 : localIndexUnits(indexWriteUnits(record, prior, next, true));
      capacity.chargeWrite(record, context.itemKey(record, action.key), keyLabel(action.key), writeItemCapacity(priorBytes, nextBytes, true) + lsi, gsi);
    },
    async changeWrites(tableName, prior, next) {
      const image = next ?? prior;
      if (image === undefined) return { also: [], committed: () => {} }; // a Delete of a missing item changes nothing
      const record = context.table(tableName);
      return context.indexes().prepareWrite(tableName, baseKeyOf(record.schema, image), prior, next, { checked: true });
    },
    admitRead(tableName, key, item) {
      const capacity = context.capacity();
      if (capacity === undefined) return;
      const record = context.table(tableName);
      capacity.chargeRead(record, context.itemKey(record, key), keyLabel(key), getItemCapacity(item === undefined ? undefined : itemSize(item), 'transactional'));
    },
  };
}

/** Each admitted write action's index units (doubled: transactional), by the plan's own action objects. */
const actionIndexUnits = new WeakMap<TransactWriteAction, IndexUnits>();

/**
 * TransactWriteItems' ConsumedCapacity with each table's index parts added
 * (index-capacity.ts: INDEXES lists them, TOTAL adds them to the total), the
 * actions' units as admitted. WriteCapacityUnits follows CapacityUnits.
 */
export function transactionIndexCapacity(plan: TransactWritePlan, output: TransactWriteItemsOutput): TransactWriteItemsOutput {
  if (output.ConsumedCapacity === undefined) return output;
  const byTable = new Map<string, IndexUnits>();
  for (const action of plan.actions) {
    const units = actionIndexUnits.get(action);
    if (units !== undefined) byTable.set(action.tableName, addIndexUnits(byTable.get(action.tableName) ?? NO_INDEX_UNITS, units));
  }
  if (byTable.size === 0) return output;
  const consumed = output.ConsumedCapacity.map((capacity) => {
    const units = byTable.get(capacity.TableName);
    if (units === undefined) return capacity;
    const added = withIndexParts(capacity, units);
    return capacity.WriteCapacityUnits === undefined ? added : { ...added, WriteCapacityUnits: added.CapacityUnits };
  });
  return { ...output, ConsumedCapacity: consumed };
}

/** A write's GSI parts as the capacity model takes them (indexes/index-write-charge.ts). */
export function indexWriteCharges(record: TableRecord, oldItem: AttributeMap | undefined, newItem: AttributeMap | undefined, transactional = false): IndexWriteCharge[] {
  return indexWriteParts(record, oldItem, newItem, transactional).map((part) => ({ index: part.index, key: chargedKey(part.engineKey, part.label), writeUnits: part.writeUnits }));
}

/**
 * ReturnItemCollectionMetrics SIZE on TransactWriteItems: per table with
 * LSIs, the collection of every item the transaction wrote (a
 * ConditionCheck writes nothing), once per collection (API:TransactWriteItems
 * "ItemCollectionMetrics": table name -> list of ItemCollectionMetrics).
 */
export async function transactionCollectionMetrics(indexes: SecondaryIndexes, request: Request, plan: TransactWritePlan, output: TransactWriteItemsOutput): Promise<TransactWriteItemsOutput & { ItemCollectionMetrics?: Record<string, ItemCollectionMetrics[]> }> {
  if (request['ReturnItemCollectionMetrics'] !== 'SIZE') return output;
  const metrics: Record<string, ItemCollectionMetrics[]> = {};
  const seen = new Set<string>();
  for (const action of plan.actions) {
    if (action.kind === 'ConditionCheck') continue;
    const identity = `${action.tableName}\u0000${JSON.stringify(action.key.partition)}`;
    if (seen.has(identity)) continue;
    seen.add(identity);
    const collection = await indexes.collectionMetrics(request, action.tableName, action.key.partition);
    if (collection !== undefined) (metrics[action.tableName] ??= []).push(collection);
  }
  return Object.keys(metrics).length === 0 ? output : { ...output, ItemCollectionMetrics: metrics };
}
