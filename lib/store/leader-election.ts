/**
 * A new partition leader's catch-up (lib/tables/DESIGN.md §3), run by the
 * coordinator on its host's links before the leader serves its term:
 *
 * 1. Every up replica of the partition is told the new term (Op.TERM, the
 *    leader with OrderedFlag.LEADS). Each persists it, and from then on
 *    refuses requests of older terms: no write of an older term can gather
 *    another acknowledgement there.
 * 2. Every fenced replica but the leader lists its keys of the partition
 *    (Op.PARTITION_SCAN, in pages, as a range move copies them), and each
 *    leader-ordered object newer than the leader's own copy (listed first,
 *    once the leader was fenced) is merged into the leader
 *    (Op.ORDERED_REPLICATE of the new term: the greater version stays). In a
 *    partition whose replicas agree nothing is sent: an election is then
 *    the fences and one scan per replica, not a message per key and replica.
 *
 * 3. The leader commits its own copies (Raft §5.4.2: a new leader commits
 *    an entry of its term, the no-op, before it serves): it lists its keys
 *    of the partition, and each whose copy fewer than W replicas were seen
 *    to hold (a write that reached only the leader, then failed or was cut
 *    off by a crash or a close of the store) is sent to the other fenced
 *    replicas (Op.ORDERED_REPLICATE of the new term) until W hold it. Which
 *    keys are in doubt is known only to the coordinator that wrote them
 *    (uncommitted-keys.ts, in memory): after a reopen, or under another
 *    coordinator, only this step keeps a consistent read from showing a
 *    write a failover then takes back. The work is one more scan, of the
 *    leader, plus a copy of each key only the leader held; the versions
 *    seen on the other replicas are kept up to SEEN_KEY_BYTES_MAX of keys,
 *    and beyond it a key not kept is sent (more copies, never fewer).
 *
 * The leader serves once the replicas it fenced and read, itself included,
 * are at least N - W + 1: then they share a replica with every write quorum
 * of an older term, so every acknowledged write has reached the leader (a
 * fenced replica had it before its fence, or refused it). Fewer, and the
 * election fails: the partition cannot serve ordered requests until more
 * replicas are up, as DynamoDB's partition without a quorum cannot. So does
 * a copy of the leader's that cannot reach W replicas.
 *
 * One round elects a batch of partitions with one leader and one set of
 * replicas (PartitionLeaders.electionBatch): the TERMs of every partition go
 * out at once, and each step's scan of a replica asks for every partition of
 * the batch it was fenced in (PARTITION_SCAN takes a set), its entries
 * sorted to their partitions by key. Each partition keeps its own term and
 * is judged by the rules above on its own answers alone; a replica whose
 * scan fails counts for none of the partitions it covered. A fresh or
 * reopened store elects its 1,024 partitions (4 nodes of 256 vnodes) in
 * tens of rounds instead of 1,024.
 */
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { hashKey32 } from '../ring/hash.js';
import type { PendingReply } from '../transport/node-link.js';
import { Op, OrderedFlag, ExpectKind, Status, copyBytes, decodeScanPage, encodeOrderedValue, encodeScanRequest } from '../transport/wire.js';
import { decodeObject } from '../version/object-codec.js';
import { orderedEntryOf } from '../version/ordered-version.js';
import type { Send } from './coordinator-host.js';
import type { Leadership } from './partition-leaders.js';

const PAGE_ENTRIES = 512;
const EMPTY = new Uint8Array(0);
/** Key bytes whose versions on the other replicas an election keeps (step 3); beyond, a key not kept is copied. */
export const SEEN_KEY_BYTES_MAX = 16 * 1024 * 1024;

/** The greatest version of each key the other fenced replicas hold, and how many hold it (step 3). */
class SeenVersions {
  private readonly versions = new Map<string, { version: number; holders: number }>();
  private keyBytes = 0;

  saw(key: Uint8Array, version: number): void {
    const id = Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
    const seen = this.versions.get(id);
    if (seen === undefined) {
      if (this.keyBytes + key.byteLength > SEEN_KEY_BYTES_MAX) return; // not kept: the leader's copy is sent
      this.keyBytes += key.byteLength;
      this.versions.set(id, { version, holders: 1 });
    } else if (version > seen.version) {
      seen.version = version;
      seen.holders = 1;
    } else if (version === seen.version) seen.holders++;
  }

  /** Whether a version of `key` at least `version` was seen (a key not kept, beyond the bound, was not). */
  holdsAtLeast(key: Uint8Array, version: number): boolean {
    const seen = this.versions.get(Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1'));
    return seen !== undefined && seen.version >= version;
  }

  /** Replicas besides the leader known to hold `version` of `key`. */
  holders(key: Uint8Array, version: number): number {
    const seen = this.versions.get(Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1'));
    return seen !== undefined && seen.version === version ? seen.holders : 0;
  }
}

export interface ElectionHost {
  send: Send;
  isUp(node: number): boolean;
  partitionBits: number;
  partitionOf(hash32: number): number;
  /** Keys of dropped spaces are not copied (a dropped table stays dropped). */
  isDropped(key: Uint8Array): boolean;
}

export type ElectionResult = { outcome: 'ready' } | { outcome: 'stale'; knownTerm: number } | { outcome: 'failed'; reason: string };

interface Answer {
  status: number;
  payload: Uint8Array;
}

/** One request as a promise; a node failure or loss is the status -1. */
function call(host: ElectionHost, target: number, op: number, flags: number, key: Uint8Array, value: Uint8Array): Promise<Answer> {
  return new Promise((resolve) => {
    const reply: PendingReply = {
      onReply: (_target, status, bytes, _view, at, length) => resolve({ status, payload: copyBytes(bytes, at, at + length) }),
      onNodeFailure: () => resolve({ status: -1, payload: EMPTY }),
    };
    host.send(target, { op, flags, key, context: undefined, value, timestampMs: 0, expiresAtMs: 0 }, reply, 0);
  });
}

function termRequest(leadership: Leadership, leads: boolean, payload?: Uint8Array): Uint8Array {
  return encodeOrderedValue({ partition: leadership.partition, term: leadership.term, expect: ExpectKind.NONE, expectVersion: 0, flags: leads ? OrderedFlag.LEADS : 0 }, payload);
}

function knownTermOf(answer: Answer): number {
  return answer.payload.byteLength === 8 ? new DataView(answer.payload.buffer, answer.payload.byteOffset, 8).getFloat64(0, true) : 0;
}

/** One partition's election within a round: its leadership, the replicas it fenced, and its outcome once known. */
interface Candidacy {
  readonly leadership: Leadership;
  readonly fenced: number[];
  /** Replicas besides the leader whose keys were all merged into the leader (step 2). */
  readonly caughtUpFrom: number[];
  result: ElectionResult | undefined;
}

/**
 * Catch up the leaders of `batch` (PartitionLeaders.electionBatch: one
 * leader, replicas holding every partition of it) in one round: the fences
 * of every partition at once, then one scan per replica over the partitions
 * it was fenced in. Each partition's outcome is decided from its own
 * answers, as a round of its own would decide it; a replica's failed scan
 * fails its part in every partition it covered. `needed`: replicas caught up
 * from, the leader included (N - W + 1); `w`: replicas that must hold each of
 * the leader's copies (step 3). The results are in `batch`'s order.
 */
export async function electLeaders(host: ElectionHost, batch: readonly Leadership[], replicas: ArrayLike<number>, needed: number, w: number): Promise<ElectionResult[]> {
  assert.ok(batch.length > 0 && batch.every((leadership) => leadership.leader === batch[0]!.leader), 'one leader per election round');
  const leader = batch[0]!.leader;
  const up = Array.from(replicas).filter((node) => host.isUp(node));
  const candidacies = await fence(host, batch, up);
  // Fenced, the leader takes no write of an older term: what it holds now only grows by this catch-up.
  const held = await leaderVersions(host, leader, electing(candidacies));
  const seen = new SeenVersions();
  const sources = up.filter((node) => node !== leader);
  await Promise.all(sources.map((source) => copyFrom(host, leader, source, electing(candidacies).filter((c) => c.fenced.includes(source)), seen, held)));
  for (const candidacy of electing(candidacies)) {
    const caughtUp = 1 + candidacy.caughtUpFrom.length;
    if (caughtUp < needed) candidacy.result = { outcome: 'failed', reason: `partition ${candidacy.leadership.partition}'s leader caught up from ${caughtUp} of the ${needed} replicas it needs` };
  }
  await commitLeaderCopies(host, leader, electing(candidacies), seen, w);
  return candidacies.map((candidacy) => candidacy.result ?? { outcome: 'ready' });
}

/** The partitions of a round still electing: neither stale nor failed so far. */
function electing(candidacies: readonly Candidacy[]): Candidacy[] {
  return candidacies.filter((candidacy) => candidacy.result === undefined);
}

/** Step 1 for every partition of the batch at once: who took each term, and which partitions are stale or lost their leader. */
async function fence(host: ElectionHost, batch: readonly Leadership[], up: readonly number[]): Promise<Candidacy[]> {
  const answers = await Promise.all(up.map((node) => Promise.all(batch.map((leadership) => call(host, node, Op.TERM, 0, EMPTY, termRequest(leadership, node === leadership.leader))))));
  return batch.map((leadership, b) => {
    let knownTerm = 0;
    const fenced: number[] = [];
    up.forEach((node, i) => {
      const answer = answers[i]![b]!;
      if (answer.status === Status.STALE_TERM) knownTerm = Math.max(knownTerm, knownTermOf(answer));
      else if (answer.status === Status.OK) fenced.push(node);
    });
    let result: ElectionResult | undefined;
    if (knownTerm > 0) result = { outcome: 'stale', knownTerm };
    else if (!fenced.includes(leadership.leader)) result = { outcome: 'failed', reason: `the new leader, node ${leadership.leader}, did not take term ${leadership.term}` };
    return { leadership, fenced, caughtUpFrom: [], result };
  });
}

/**
 * Step 3: send each of the leader's copies that fewer than `w` replicas hold
 * to the partition's other fenced replicas. A partition not caught up from
 * every replica it fenced knows nothing from `seen` (a source failed
 * part-way): each of its copies is sent. A partition whose copies cannot
 * reach `w` replicas, or whose keys the leader did not list, fails.
 */
async function commitLeaderCopies(host: ElectionHost, leader: number, candidacies: readonly Candidacy[], seen: SeenVersions, w: number): Promise<void> {
  if (candidacies.length === 0) return;
  const short = new Map<Candidacy, number>();
  const listed = await eachOrderedPage(host, leader, candidacies, async (entries) => {
    const commits: Promise<void>[] = [];
    for (const { candidacy, key, object, version } of entries) {
      if (short.has(candidacy)) continue; // this partition failed already
      // Only the sources read in full say what they hold; the others may still take the leader's copies.
      const others = candidacy.fenced.filter((node) => node !== leader);
      const known = candidacy.caughtUpFrom.length === others.length;
      const holders = 1 + (known ? seen.holders(key, version) : 0);
      if (holders >= w) continue;
      commits.push(commitCopy(host, candidacy.leadership, others, key, object, w - holders).then((ok) => {
        if (!ok) short.set(candidacy, (short.get(candidacy) ?? 0) + 1);
      }));
    }
    await Promise.all(commits);
    return true;
  });
  for (const candidacy of candidacies) {
    const partition = candidacy.leadership.partition;
    const count = short.get(candidacy);
    if (count !== undefined) candidacy.result = { outcome: 'failed', reason: `partition ${partition}'s leader could not commit its copies: ${count} of its copies reached fewer than ${w} replicas` };
    else if (!listed) candidacy.result = { outcome: 'failed', reason: `partition ${partition}'s leader could not commit its copies: the leader, node ${leader}, did not list its keys` };
  }
}

/** Send one copy of the leader's to `others`: true once `acksNeeded` of them took it. */
async function commitCopy(host: ElectionHost, leadership: Leadership, others: readonly number[], key: Uint8Array, object: Uint8Array, acksNeeded: number): Promise<boolean> {
  const answers = await Promise.all(others.map((node) => call(host, node, Op.ORDERED_REPLICATE, 0, key, termRequest(leadership, false, object))));
  return answers.filter((answer) => answer.status === Status.OK).length >= acksNeeded;
}

/**
 * The leader's version of each of its leader-ordered keys of the partitions
 * (up to SEEN_KEY_BYTES_MAX of keys, for the whole round: a key lies in one
 * partition), so that step 2 sends it only what it lacks: in a partition
 * whose replicas agree, nothing. Undefined if the leader did not list them
 * (step 2 then sends every copy, step 3 fails).
 */
async function leaderVersions(host: ElectionHost, leader: number, candidacies: readonly Candidacy[]): Promise<SeenVersions | undefined> {
  if (candidacies.length === 0) return undefined;
  const versions = new SeenVersions();
  const listed = await eachOrderedPage(host, leader, candidacies, async (entries) => {
    for (const { key, version } of entries) versions.saw(key, version);
    return true;
  });
  return listed ? versions : undefined;
}

/**
 * Step 2 from one source: merge `source`'s leader-ordered keys of the
 * partitions it was fenced in into the leader, page by page, noting their
 * versions in `seen`. A copy no newer than the leader's (`held`) is not
 * sent: the greater version stays. The source counts for each partition
 * whose copies all reached the leader, once every page was read.
 */
async function copyFrom(host: ElectionHost, leader: number, source: number, candidacies: readonly Candidacy[], seen: SeenVersions, held: SeenVersions | undefined): Promise<void> {
  if (candidacies.length === 0) return;
  const refused = new Set<Candidacy>();
  const listed = await eachOrderedPage(host, source, candidacies, async (entries) => {
    const copies: Promise<void>[] = [];
    for (const { candidacy, key, object, version } of entries) {
      seen.saw(key, version);
      if (refused.has(candidacy) || (held !== undefined && held.holdsAtLeast(key, version))) continue;
      copies.push(call(host, leader, Op.ORDERED_REPLICATE, 0, key, termRequest(candidacy.leadership, false, object)).then((answer) => {
        if (answer.status !== Status.OK) refused.add(candidacy);
      }));
    }
    await Promise.all(copies);
    return true;
  });
  if (!listed) return;
  for (const candidacy of candidacies) if (!refused.has(candidacy)) candidacy.caughtUpFrom.push(source);
}

interface OrderedScanEntry {
  candidacy: Candidacy;
  key: Uint8Array;
  object: Uint8Array;
  version: number;
}

/**
 * `node`'s leader-ordered keys of the candidacies' partitions (not of
 * dropped spaces), page by page (Op.PARTITION_SCAN over all of them,
 * PAGE_ENTRIES at a time), each page handed to `visit`, which returns false
 * to stop. True once every page was visited; false if the node did not list
 * a page or `visit` stopped.
 */
async function eachOrderedPage(host: ElectionHost, node: number, candidacies: readonly Candidacy[], visit: (entries: OrderedScanEntry[]) => Promise<boolean>): Promise<boolean> {
  const byPartition = new Map<number, Candidacy>();
  for (const candidacy of candidacies) byPartition.set(candidacy.leadership.partition, candidacy);
  const request = encodeScanRequest(PAGE_ENTRIES, host.partitionBits, byPartition.keys());
  let cursor: Uint8Array = EMPTY;
  for (;;) {
    const answer = await call(host, node, Op.PARTITION_SCAN, 0, cursor, request);
    if (answer.status !== Status.OK) return false;
    const page = decodeScanPage(answer.payload, 0, answer.payload.byteLength);
    const entries: OrderedScanEntry[] = [];
    for (const entry of page.entries) {
      const candidacy = byPartition.get(host.partitionOf(hashKey32(entry.key)));
      if (candidacy === undefined || host.isDropped(entry.key)) continue;
      const ordered = orderedEntryOf(decodeObject(entry.object));
      if (ordered !== undefined) entries.push({ candidacy, key: entry.key, object: entry.object, version: ordered.version });
    }
    if (!(await visit(entries))) return false;
    if (page.next === undefined) return true;
    cursor = page.next;
  }
}
