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
 *    leader-ordered object is merged into the leader (Op.ORDERED_REPLICATE
 *    of the new term: the greater version stays).
 *
 * The leader serves once the replicas it fenced and read, itself included,
 * are at least N - W + 1: then they share a replica with every write quorum
 * of an older term, so every acknowledged write has reached the leader (a
 * fenced replica had it before its fence, or refused it). Fewer, and the
 * election fails: the partition cannot serve ordered requests until more
 * replicas are up, as DynamoDB's partition without a quorum cannot.
 */
import { hashKey32 } from '../ring/hash.js';
import type { PendingReply } from '../transport/node-link.js';
import { Op, OrderedFlag, ExpectKind, Status, copyBytes, decodeScanPage, encodeOrderedValue, encodeScanRequest } from '../transport/wire.js';
import { decodeObject } from '../version/object-codec.js';
import { orderedEntryOf } from '../version/ordered-version.js';
import type { Send } from './coordinator-host.js';
import type { Leadership } from './partition-leaders.js';

const PAGE_ENTRIES = 512;
const EMPTY = new Uint8Array(0);

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

export async function electLeader(host: ElectionHost, leadership: Leadership, replicas: ArrayLike<number>, needed: number): Promise<ElectionResult> {
  const up = Array.from(replicas).filter((node) => host.isUp(node));
  const answers = await Promise.all(up.map((node) => call(host, node, Op.TERM, 0, EMPTY, termRequest(leadership, node === leadership.leader))));
  let knownTerm = 0;
  const fenced: number[] = [];
  answers.forEach((answer, i) => {
    if (answer.status === Status.STALE_TERM) knownTerm = Math.max(knownTerm, knownTermOf(answer));
    else if (answer.status === Status.OK) fenced.push(up[i]!);
  });
  if (knownTerm > 0) return { outcome: 'stale', knownTerm };
  if (!fenced.includes(leadership.leader)) return { outcome: 'failed', reason: `the new leader, node ${leadership.leader}, did not take term ${leadership.term}` };
  const sources = fenced.filter((node) => node !== leadership.leader);
  const copied = await Promise.all(sources.map((source) => copyFrom(host, leadership, source)));
  const caughtUp = 1 + copied.filter((ok) => ok).length;
  if (caughtUp < needed) return { outcome: 'failed', reason: `partition ${leadership.partition}'s leader caught up from ${caughtUp} of the ${needed} replicas it needs` };
  return { outcome: 'ready' };
}

/** Merge `source`'s leader-ordered keys of the partition into the leader, page by page: false if a step failed. */
async function copyFrom(host: ElectionHost, leadership: Leadership, source: number): Promise<boolean> {
  const request = encodeScanRequest(PAGE_ENTRIES, host.partitionBits, [leadership.partition]);
  let cursor: Uint8Array = EMPTY;
  for (;;) {
    const answer = await call(host, source, Op.PARTITION_SCAN, 0, cursor, request);
    if (answer.status !== Status.OK) return false;
    const page = decodeScanPage(answer.payload, 0, answer.payload.byteLength);
    const copies: Promise<Answer>[] = [];
    for (const entry of page.entries) {
      if (host.partitionOf(hashKey32(entry.key)) !== leadership.partition || host.isDropped(entry.key)) continue;
      if (orderedEntryOf(decodeObject(entry.object)) === undefined) continue;
      copies.push(call(host, leadership.leader, Op.ORDERED_REPLICATE, 0, entry.key, termRequest(leadership, false, entry.object)));
    }
    const results = await Promise.all(copies);
    if (results.some((result) => result.status !== Status.OK)) return false;
    if (page.next === undefined) return true;
    cursor = page.next;
  }
}
