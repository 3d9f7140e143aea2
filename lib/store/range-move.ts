/**
 * Streams the partitions a membership change moves (lib/ring/move-plan.ts)
 * between storage nodes while traffic continues, in bounded pages: a source
 * node lists its keys of the moving partitions (Op.PARTITION_SCAN), and each
 * key's object is merged into every gaining node (Op.REPLICATE: a DVVSet sync,
 * so a copy racing a live write loses nothing). After the switch to the new
 * ring, a losing node's keys are copied once more and then dropped
 * (Op.DROP_IF_COVERED, which keeps anything newer than what was copied).
 *
 * Bounded: one page of at most PAGE_ENTRIES keys in flight per source node.
 */
import { ErrorCode, RingtableError } from '../errors.js';
import { hashKey32 } from '../ring/hash.js';
import type { MovePlan, PartitionMove } from '../ring/move-plan.js';
import { partitionsToScan } from '../ring/move-plan.js';
import type { PreferenceListTable } from '../ring/preference-list.js';
import type { Ring } from '../ring/ring.js';
import type { Send } from './coordinator-host.js';
import { type Entry, Op, Status, copyBytes, decodeScanPage, encodeScanRequest, requestOf } from '../transport/wire.js';

const PAGE_ENTRIES = 512;
const CALL_ATTEMPTS_MAX = 3;
const EMPTY = new Uint8Array(0);

export interface MoveHost {
  send: Send;
  /** A key of a dropped space (dropSpace): never copied to a gainer. */
  isDropped?(key: Uint8Array): boolean;
}

export interface MoveCounters {
  keysCopied: number;
  /** Keys a losing (or leaving) node dropped after handing them over: only those it dropped, not those it kept newer. */
  keysDropped: number;
  pages: number;
  /**
   * Stale copies a gaining node still held from an earlier time it replicated
   * the range, dropped before the copy: only those its node dropped (OK), not
   * those it found gone (NOT_FOUND) or kept because it held a newer copy (CONFLICT).
   */
  staleDropped: number;
}

/** A node's answer to one range-move step: its status (OK, NOT_FOUND, or CONFLICT for DROP_IF_COVERED) and a copy of its payload. */
interface StepAnswer {
  status: number;
  payload: Uint8Array;
}

/**
 * One request as a promise: resolves with the node's status and a copy of
 * the answer's payload. Every step is idempotent (a scan, a DVVSet merge, a
 * drop that keeps anything newer), so a request the node did not answer
 * (lost, or the node failed) is sent again, up to CALL_ATTEMPTS_MAX times in
 * all: found by the simulation, where one lost request failed most
 * membership changes.
 */
function call(host: MoveHost, target: number, op: number, key: Uint8Array, value: Uint8Array | undefined, attempt = 1): Promise<StepAnswer> {
  return new Promise((resolve, reject) => {
    host.send(target, requestOf(op, key, value), {
      onReply: (_target, status, bytes, _view, at, length) => {
        // DROP_IF_COVERED answers CONFLICT when it keeps a newer copy: that copy stays and merges later (see above).
        if (status === Status.OK || status === Status.NOT_FOUND || (op === Op.DROP_IF_COVERED && status === Status.CONFLICT)) resolve({ status, payload: copyBytes(bytes, at, at + length) });
        else reject(new RingtableError(ErrorCode.NODE_FAILED, `node ${target} refused a range move step: ${new TextDecoder().decode(bytes.subarray(at, at + length))}`));
      },
      onNodeFailure: (_target, error) => {
        if (attempt < CALL_ATTEMPTS_MAX) return resolve(call(host, target, op, key, value, attempt + 1));
        reject(new RingtableError(ErrorCode.NODE_FAILED, `node ${target} failed during a range move: ${error.message}`, undefined, { cause: error }));
      },
    }, 0);
  });
}

/**
 * Await every node's page loop, then throw the first failure. Not
 * Promise.all: on the first failure the change would end while the other
 * loops still page and copy to gaining nodes, so copies of a change that
 * failed would land outside their keys' replicas after it ended, later than
 * the ownership sweeps that purges wait for (purge-rule.ts; the simulation's
 * seed 19787 of 'sloppy-membership' lost a delete to such a late copy).
 */
async function allLoops(loops: Promise<void>[]): Promise<void> {
  const outcomes = await Promise.allSettled(loops);
  for (const outcome of outcomes) if (outcome.status === 'rejected') throw outcome.reason;
}

/** Every key `node` holds in `partitions`, page by page. */
async function scanPages(host: MoveHost, node: number, ring: Ring, partitions: number[], onPage: (entries: Entry[]) => Promise<void>, counters: MoveCounters): Promise<void> {
  if (partitions.length === 0) return;
  const request = encodeScanRequest(PAGE_ENTRIES, ring.partitionBits, partitions);
  let cursor: Uint8Array = EMPTY;
  for (;;) {
    const { payload } = await call(host, node, Op.PARTITION_SCAN, cursor, request);
    const page = decodeScanPage(payload, 0, payload.byteLength);
    counters.pages++;
    await onPage(page.entries);
    if (page.next === undefined) return;
    cursor = page.next;
  }
}

function movesByPartition(plan: MovePlan): Map<number, PartitionMove> {
  return new Map(plan.moves.map((move) => [move.partition, move]));
}

/**
 * Before the copy: what a gaining node still holds of the partitions it
 * gains is left over from an earlier time it replicated them, when it was
 * down as that change moved them (handOverAndDrop skips a node that is
 * down). It may be stale (older than a tombstone: merged into the range it
 * would bring the deleted value back, found by the simulation, seed 400969
 * of 'membership'), or the only copy of an acknowledged write (issue 9:
 * the simulation's membership-outage seed 11134 lost one when it was dropped
 * here). So it is handed over as ownership-handoff.ts does: merged into all
 * the partition's current replicas, and dropped only once all acknowledged
 * (Op.DROP_IF_COVERED keeps anything newer); otherwise it stays, and merges
 * with the copy. Tombstones are not purged while such a node is owed a sweep
 * (purge-rule.ts), so a stale copy meets its tombstone, which covers it.
 */
export async function dropStaleOnGainers(host: MoveHost, ring: Ring, plan: MovePlan, counters: MoveCounters): Promise<void> {
  const moves = movesByPartition(plan);
  const gainers = new Set(plan.moves.flatMap((move) => move.gainers));
  const handOver = async (gainer: number, entry: Entry): Promise<void> => {
    const current = moves.get(ring.partitionOf(hashKey32(entry.key)))?.before ?? [];
    const merged = await Promise.all(current.map((node) => call(host, node, Op.REPLICATE, entry.key, entry.object).then(() => true, () => false)));
    if (current.length === 0 || merged.includes(false)) return;
    if (await dropCovered(host, gainer, entry)) counters.staleDropped++;
  };
  await allLoops(
    [...gainers].map((gainer) =>
      scanPages(host, gainer, ring, partitionsToScan(plan, gainer, 'gainer'), async (entries) => void (await Promise.all(entries.map((entry) => handOver(gainer, entry)))), counters),
    ),
  );
}

/**
 * Copy the moving partitions from every up replica they had to the nodes
 * that gain them. All old replicas are read, not one: with W < N, a write
 * may sit on only some of them.
 */
export async function copyToGainers(host: MoveHost, ring: Ring, plan: MovePlan, isUp: (node: number) => boolean, counters: MoveCounters): Promise<void> {
  const moves = movesByPartition(plan);
  const sources = new Set(plan.moves.flatMap((move) => move.before));
  await allLoops(
    [...sources].filter(isUp).map((source) => {
      const partitions = partitionsToScan(plan, source, 'source').filter((p) => moves.get(p)!.gainers.length > 0);
      return scanPages(host, source, ring, partitions, (entries) => copyEntries(host, ring, moves, entries, counters), counters);
    }),
  );
}

async function copyEntries(host: MoveHost, ring: Ring, moves: Map<number, PartitionMove>, entries: Entry[], counters: MoveCounters): Promise<void> {
  const copies: Promise<StepAnswer>[] = [];
  for (const entry of entries) {
    if (host.isDropped?.(entry.key) === true) continue;
    const move = moves.get(ring.partitionOf(hashKey32(entry.key)));
    if (move === undefined) continue; // the node's page filter matched: cannot happen, but never copy astray
    for (const gainer of move.gainers) copies.push(call(host, gainer, Op.REPLICATE, entry.key, entry.object));
  }
  await Promise.all(copies);
  counters.keysCopied += entries.length;
}

/**
 * Drop `entry` on `node` unless it holds something newer: true only if it
 * dropped it (OK), not for a key found gone (NOT_FOUND: a drop sent again,
 * or a hand-over tried again) or kept newer (CONFLICT: it merges later).
 */
async function dropCovered(host: MoveHost, node: number, entry: Entry): Promise<boolean> {
  const { status } = await call(host, node, Op.DROP_IF_COVERED, entry.key, entry.object);
  return status === Status.OK;
}

/**
 * After the switch: each losing node's keys of the partitions it lost are
 * merged into the gainers once more (writes that reached it during the copy)
 * and then dropped, unless something newer arrived since.
 */
export async function handOverAndDrop(host: MoveHost, ring: Ring, plan: MovePlan, isUp: (node: number) => boolean, counters: MoveCounters): Promise<void> {
  const moves = movesByPartition(plan);
  const losers = new Set(plan.moves.flatMap((move) => move.losers));
  await allLoops(
    [...losers].filter(isUp).map((loser) =>
      scanPages(
        host,
        loser,
        ring,
        partitionsToScan(plan, loser, 'loser'),
        async (entries) => {
          await copyEntries(host, ring, moves, entries, counters);
          await Promise.all(
            entries.map(async (entry) => {
              if (await dropCovered(host, loser, entry)) counters.keysDropped++;
            }),
          );
        },
        counters,
      ),
    ),
  );
}

/**
 * A node that leaves hands over everything it still holds, not only the
 * partitions it replicated just before: it may hold keys of ranges it lost
 * in an earlier change while it was down (issue 9; the simulation's
 * membership-outage seed 2445 lost such a write when the node left before
 * its ownership sweep). Each key is merged into all its replicas in the new
 * ring, then dropped; a step that fails throws, and the caller tries again.
 */
export async function handOverAll(host: MoveHost, next: PreferenceListTable, node: number, counters: MoveCounters): Promise<void> {
  const ring = next.ring;
  const partitions = Array.from({ length: ring.partitionCount }, (_, p) => p);
  await scanPages(
    host,
    node,
    ring,
    partitions,
    async (entries) => {
      await Promise.all(
        entries.map(async (entry) => {
          await Promise.all(Array.from(next.forHash(hashKey32(entry.key)), (replica) => call(host, replica, Op.REPLICATE, entry.key, entry.object)));
          if (await dropCovered(host, node, entry)) counters.keysDropped++;
        }),
      );
    },
    counters,
  );
}
