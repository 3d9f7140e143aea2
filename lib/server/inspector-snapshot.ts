/**
 * The inspector's snapshot source: everything the live page draws, taken
 * once a second from the Database and sent to every open page as one
 * server-sent event. This is the one place that knows where the data comes
 * from; the page only knows the shapes below.
 *
 * - The ring, nodes, partitions, leaders and hints come from the Store
 *   (`nodes()`, `partitions()`, `stats()`).
 * - Tables come from the catalog (ListTables, DescribeTable).
 * - Capacity is the Database's capacity metrics (`db.capacityMetrics()`,
 *   lib/tables/capacity/capacity-snapshot.ts and its README), bounded to
 *   CAPACITY_RESOURCES_SHOWN_MAX tables and indexes and the newest
 *   CAPACITY_EVENTS_SHOWN_MAX events: `null` when the model is off, which the
 *   page shows as "capacity model off".
 * - Index lag is one `IndexLag` per global secondary index, from
 *   `db.stats()`: `null` when there is none ("no indexes").
 *
 * Both optional sources are functions, so whoever owns the data decides what
 * "now" means; `sourcesOf(database)` is where the Database's own capacity and
 * index reports are connected.
 */
import type { Database } from '../tables/database.js';
import type { NodeInfo, NodeStatus } from '../store/store-types.js';
import type { CapacitySnapshot } from '../tables/capacity/capacity-snapshot.js';
import type { TableDescription } from '../tables/table-description.js';

/** Per-partition detail is sent for rings up to this many partitions; larger rings send per-node totals only. */
export const PARTITIONS_SHOWN_MAX = 4096;
/** Tables described per snapshot (ListTables pages of 100). */
export const TABLES_SHOWN_MAX = 100;
/** Capacity events sent per snapshot: the newest. */
export const CAPACITY_EVENTS_SHOWN_MAX = 50;
/** Tables and indexes whose capacity view is sent per snapshot (each carries a minute of series per partition). */
export const CAPACITY_RESOURCES_SHOWN_MAX = 20;

export interface NodeSnapshot {
  id: number;
  status: NodeStatus;
  /** Why it is down, when it is. */
  reason: string | null;
  keys: number;
  /** Hints other nodes hold for this one, and hints it holds for others. */
  hintsPending: number;
  hintsHeld: number;
  /** Requests it served since it started, and requests waiting on it now. */
  ops: number;
  queueDepth: number;
  /** Ring partitions it is the primary of, is a replica of (primary included), and leads. */
  partitionsPrimary: number;
  partitionsReplica: number;
  partitionsLed: number;
}

export interface RingPartitionSnapshot {
  partition: number;
  /** Preference list, primary first. */
  replicas: number[];
  /** The leader for leader-ordered keys and its term; null until a request elected one. */
  leader: number | null;
  term: number | null;
  /** The leader caught up and serves; false while it catches up. */
  leaderReady: boolean;
}

export interface RingSnapshot {
  /** Replicas per key (N). */
  n: number;
  partitionCount: number;
  nodes: NodeSnapshot[];
  /** Every partition, or [] when partitionCount exceeds PARTITIONS_SHOWN_MAX. */
  partitions: RingPartitionSnapshot[];
  /** Store-wide counters since it opened. */
  readRepairs: number;
  hintsDelivered: number;
  nodesMarkedDown: number;
  timeouts: number;
  overloaded: number;
  /** Operations whose callers wait now. */
  pending: number;
}

export interface TableSnapshot {
  name: string;
  status: string;
  itemCount: number;
  sizeBytes: number;
  billingMode: string;
  partitionKey: { name: string; type: string };
  sortKey: { name: string; type: string } | null;
  /** Its global and local secondary indexes' names, as DescribeTable lists them. */
  indexes: string[];
}

/** One global secondary index's replication lag behind its base table. */
export interface IndexLag {
  table: string;
  index: string;
  /** Base-table changes not yet applied to the index. */
  pendingChanges: number;
  /** Age of the oldest of them (0 when none). */
  oldestPendingAgeMs: number;
}

export interface InspectorSnapshot {
  atMs: number;
  ring: RingSnapshot;
  tables: TableSnapshot[];
  /** db.capacityMetrics(), bounded; null: the capacity model is off. */
  capacity: CapacitySnapshot | null;
  /** null: no index reports lag (no indexes). */
  indexLag: IndexLag[] | null;
}

export interface SnapshotSources {
  database: Database;
  /** The capacity model's view now; undefined (or absent) when it is off. */
  capacity?: (() => CapacitySnapshot | undefined) | undefined;
  /** Every index's lag now; undefined (or absent) when there are no indexes. */
  indexLag?: (() => IndexLag[] | undefined) | undefined;
}

/**
 * The sources of one Database: its capacity metrics while the model is on,
 * and each global secondary index's lag (`db.stats().indexes.lag`, keyed
 * "Table/Index"; table names cannot hold a slash).
 */
export function sourcesOf(database: Database): SnapshotSources {
  return {
    database,
    capacity: () => {
      const metrics = database.capacityMetrics();
      return metrics.mode === 'off' ? undefined : metrics;
    },
    indexLag: () => {
      const lags = Object.entries(database.stats().indexes.lag);
      return lags.length === 0 ? undefined : lags.map(([name, lag]): IndexLag => {
        const slash = name.indexOf('/');
        return { table: name.slice(0, slash), index: name.slice(slash + 1), pendingChanges: lag.pendingChanges, oldestPendingAgeMs: lag.oldestPendingAgeMs };
      });
    },
  };
}

export async function takeSnapshot(sources: SnapshotSources, nowMs: number): Promise<InspectorSnapshot> {
  const capacity = sources.capacity?.();
  const lag = sources.indexLag?.();
  return {
    atMs: nowMs,
    ring: ringSnapshot(sources.database),
    tables: await tableSnapshots(sources.database),
    capacity: capacity === undefined ? null : {
      ...capacity,
      resources: capacity.resources.slice(0, CAPACITY_RESOURCES_SHOWN_MAX),
      events: capacity.events.slice(-CAPACITY_EVENTS_SHOWN_MAX),
    },
    indexLag: lag === undefined || lag.length === 0 ? null : lag,
  };
}

export function ringSnapshot(database: Database): RingSnapshot {
  const store = database.store;
  const stats = store.stats();
  const partitions = store.partitions();
  const byNode = new Map<number, { primary: number; replica: number; led: number }>();
  const countsOf = (node: number) => {
    let counts = byNode.get(node);
    if (counts === undefined) byNode.set(node, (counts = { primary: 0, replica: 0, led: 0 }));
    return counts;
  };
  for (const p of partitions) {
    if (p.replicas[0] !== undefined) countsOf(p.replicas[0]).primary++;
    for (const node of p.replicas) countsOf(node).replica++;
    if (p.leader !== undefined) countsOf(p.leader.node).led++;
  }
  const opsOf = new Map(stats.nodes.map((n) => [n.id, n]));
  const nodes = store.nodes().map((info: NodeInfo): NodeSnapshot => {
    const counts = byNode.get(info.id) ?? { primary: 0, replica: 0, led: 0 };
    const served = opsOf.get(info.id);
    return {
      id: info.id,
      status: info.status,
      reason: info.reason ?? null,
      keys: info.keys,
      hintsPending: info.hintsPending,
      hintsHeld: info.hintsHeld,
      ops: served?.ops ?? 0,
      queueDepth: served?.queueDepth ?? 0,
      partitionsPrimary: counts.primary,
      partitionsReplica: counts.replica,
      partitionsLed: counts.led,
    };
  });
  return {
    n: store.options.n,
    partitionCount: partitions.length,
    nodes,
    partitions: partitions.length > PARTITIONS_SHOWN_MAX ? [] : partitions.map((p) => ({
      partition: p.partition,
      replicas: p.replicas,
      leader: p.leader?.node ?? null,
      term: p.leader?.term ?? null,
      leaderReady: p.leader?.ready ?? false,
    })),
    readRepairs: stats.readRepairs,
    hintsDelivered: stats.hintsDelivered,
    nodesMarkedDown: stats.nodesMarkedDown,
    timeouts: stats.timeouts,
    overloaded: stats.overloaded,
    pending: stats.pending,
  };
}

async function tableSnapshots(database: Database): Promise<TableSnapshot[]> {
  const names: string[] = [];
  let start: string | undefined;
  do {
    const page = await database.listTables(start === undefined ? { Limit: 100 } : { Limit: 100, ExclusiveStartTableName: start });
    names.push(...page.TableNames);
    start = page.LastEvaluatedTableName;
  } while (start !== undefined && names.length < TABLES_SHOWN_MAX);
  const tables: TableSnapshot[] = [];
  for (const name of names.slice(0, TABLES_SHOWN_MAX)) {
    try {
      tables.push(tableSnapshot((await database.describeTable({ TableName: name })).Table));
    } catch {
      // Deleted between ListTables and DescribeTable: it is simply gone from this snapshot.
    }
  }
  return tables;
}

function tableSnapshot(table: TableDescription): TableSnapshot {
  const typeOf = (name: string): string => table.AttributeDefinitions.find((d) => d.AttributeName === name)?.AttributeType ?? 'S';
  const hash = table.KeySchema.find((k) => k.KeyType === 'HASH')!;
  const range = table.KeySchema.find((k) => k.KeyType === 'RANGE');
  const indexes = [...(table.GlobalSecondaryIndexes ?? []), ...(table.LocalSecondaryIndexes ?? [])].map((i) => i.IndexName);
  return {
    name: table.TableName,
    status: table.TableStatus,
    itemCount: table.ItemCount,
    sizeBytes: table.TableSizeBytes,
    billingMode: table.BillingModeSummary?.BillingMode ?? 'PROVISIONED',
    partitionKey: { name: hash.AttributeName, type: typeOf(hash.AttributeName) },
    sortKey: range === undefined ? null : { name: range.AttributeName, type: typeOf(range.AttributeName) },
    indexes,
  };
}
