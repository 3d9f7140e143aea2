/**
 * One anti-entropy pass (Dynamo §4.7) as the coordinator runs it: the
 * Merkle comparison (lib/anti-entropy/, on a piscina pool reading the nodes'
 * LMDB environments read-only) names the keys whose replicas differ; each is
 * read from all its up replicas, merged (DVVSet sync), and written back to
 * every replica that lacked the merge. First, every node is swept for keys
 * it holds outside its ranges (ownership-handoff.ts), which the comparison
 * of current replicas cannot see. Bounded: REPAIR_KEYS_IN_FLIGHT keys at
 * a time, REPAIR_PASSES_MAX compare passes when one hits its listing bounds.
 */
import { AntiEntropy } from '../anti-entropy/anti-entropy.js';
import type { Ring } from '../ring/ring.js';
import type { CoordinatorHost, Send } from './coordinator-host.js';
import type { Coordinator } from './coordinator.js';
import { waitFor } from './membership-change.js';
import { Op, Status, copyBytes, requestOf } from '../transport/wire.js';
import { type VersionedObject, boundedForStorage, equal, sync } from '../version/dotted-version-vector.js';
import { decodeObject, encodeObject } from '../version/object-codec.js';

/** What one anti-entropy pass (`store.repair()`) did. */
export interface RepairResult {
  /** Key copies compared through the Merkle trees, over all replicas (about N per key). */
  keysCompared: number;
  /** Keys found to differ between replicas and brought to the merge of all their versions. */
  keysRepaired: number;
  partitionsCompared: number;
  /** (partition, leaf) pairs whose hashes differed: only their keys were listed. */
  leavesDiffering: number;
  /** Replica copies rewritten. */
  replicasRepaired: number;
  /** Compare passes (more than one when a pass hit its listing bounds). */
  passes: number;
  durationMs: number;
}

const REPAIR_PASSES_MAX = 8;
/** How long a repair waits for the ownership sweeps it asked for (they go on in the background after). */
const FOREIGN_SWEEP_WAIT_MS = 60_000;
const REPAIR_KEYS_IN_FLIGHT = 256;

export interface RepairHost {
  ring(): Ring;
  n: number;
  isUp(node: number): boolean;
  /** The key's replicas, primary first. */
  replicasOf(key: Uint8Array): ArrayLike<number>;
  send: Send;
  monotonicMs(): number;
  /** False once the store closes: stop between passes. */
  open(): boolean;
  /**
   * Sweep every node for keys it holds outside its ranges and hand them to
   * their current replicas (ownership-handoff.ts); resolves once the sweeps
   * that could run have ended. The Merkle comparison only sees each key's
   * current replicas: this is how anti-entropy finds the rest (issue 9).
   */
  handOffForeign(): Promise<void>;
  /** A key of a dropped space (dropSpace): never copied back. */
  isDropped?(key: Uint8Array): boolean;
}

/** The repair's view of the coordinator and its host; `open` is false once the store closes. */
export function repairHostOf(coordinator: Coordinator, host: CoordinatorHost, open: () => boolean): RepairHost {
  return {
    ring: () => coordinator.ring,
    n: coordinator.options.n,
    isUp: (node) => host.isUp(node),
    replicasOf: (key) => coordinator.preferenceListOf(key),
    send: host.send,
    monotonicMs: () => host.monotonicMs(),
    open,
    handOffForeign: async () => {
      coordinator.oweSweepAll();
      coordinator.tickHandoffs(host.monotonicMs());
      await waitFor(host, () => !open() || !coordinator.ownership.runnable(host.monotonicMs()), FOREIGN_SWEEP_WAIT_MS);
    },
    isDropped: (key) => coordinator.isDroppedKey(key),
  };
}

export async function repairPass(host: RepairHost, antiEntropy: AntiEntropy): Promise<RepairResult> {
  const startedMs = host.monotonicMs();
  const result: RepairResult = { keysCompared: 0, keysRepaired: 0, partitionsCompared: 0, leavesDiffering: 0, replicasRepaired: 0, passes: 0, durationMs: 0 };
  await host.handOffForeign();
  for (let pass = 0; pass < REPAIR_PASSES_MAX; pass++) {
    const ring = host.ring();
    const nodeIds = ring.nodeIds().filter((id) => host.isUp(id));
    const compared = await antiEntropy.compare({ ring, n: host.n, nodeIds });
    result.passes++;
    if (pass === 0) {
      result.keysCompared = compared.keysCompared;
      result.partitionsCompared = compared.partitionsCompared;
      result.leavesDiffering = compared.leavesDiffering;
    }
    for (let i = 0; i < compared.differing.length; i += REPAIR_KEYS_IN_FLIGHT) {
      const batch = compared.differing.slice(i, i + REPAIR_KEYS_IN_FLIGHT);
      const repaired = await Promise.all(batch.map((difference) => repairKey(host, difference.key, nodeIds)));
      for (const copies of repaired) {
        if (copies > 0) result.keysRepaired++;
        result.replicasRepaired += copies;
      }
    }
    if (!compared.truncated || !host.open()) break;
  }
  result.durationMs = host.monotonicMs() - startedMs;
  return result;
}

/** Read the key from its up replicas, merge, write the merge to each replica that differs. Returns copies written. */
async function repairKey(host: RepairHost, key: Uint8Array, upNodeIds: readonly number[]): Promise<number> {
  if (host.isDropped?.(key) === true) return 0;
  const replicas = Array.from(host.replicasOf(key)).filter((node) => upNodeIds.includes(node) && host.isUp(node));
  const read = (node: number) =>
    new Promise<VersionedObject | undefined | Error>((resolve) => {
      host.send(node, requestOf(Op.GET, key, undefined), {
        onReply: (_t, status, bytes, _v, at, length) =>
          resolve(status === Status.OK ? decodeObject(copyBytes(bytes, at, at + length)) : status === Status.NOT_FOUND ? undefined : new Error('read failed')),
        onNodeFailure: (_t, error) => resolve(error),
      }, 0);
    });
  const versions = await Promise.all(replicas.map(read));
  let merged: VersionedObject | undefined;
  for (const version of versions) if (version !== undefined && !(version instanceof Error)) merged = merged === undefined ? version : sync(merged, version);
  // Within the bound of one object as a replica would settle it; past it in values alone, no replica would store it.
  const bounded = merged === undefined ? undefined : boundedForStorage(merged);
  if (merged === undefined || bounded === undefined) return 0;
  const bytes = encodeObject(bounded);
  // Replicas that answered with something other than the merge (a failed read is not rewritten blind).
  const stale = replicas.filter((_, i) => {
    const version = versions[i];
    return !(version instanceof Error) && (version === undefined || !equal(version, merged));
  });
  const written = await Promise.all(
    stale.map(
      (node) =>
        new Promise<boolean>((resolve) => {
          host.send(node, requestOf(Op.REPLICATE, key, bytes), { onReply: (_t, status) => resolve(status === Status.OK), onNodeFailure: () => resolve(false) }, 0);
        }),
    ),
  );
  return written.filter(Boolean).length;
}

/**
 * The Store's anti-entropy: one pass at a time (a call during a pass waits
 * for that pass), the counters stats() reports, and the piscina pool, created
 * on the first pass.
 */
export class AntiEntropyRepairs {
  private antiEntropy: AntiEntropy | undefined;
  private running: Promise<RepairResult> | undefined;
  readonly counters = { passes: 0, keysRepaired: 0, lastPass: undefined as RepairResult | undefined };

  constructor(
    private readonly pool: { path: string; threadsMax: number; threadNice: number },
    private readonly host: RepairHost,
  ) {}

  get isRunning(): boolean {
    return this.running !== undefined;
  }

  /** A pass every `intervalMs` while `canStart` allows one and none runs (Dynamo §4.7: anti-entropy in the background). */
  schedule<Handle>(timers: { repeat(intervalMs: number, run: () => void): Handle }, intervalMs: number, canStart: () => boolean): Handle {
    return timers.repeat(intervalMs, () => {
      if (canStart() && !this.isRunning) this.repair().catch(() => {});
    });
  }

  async repair(): Promise<RepairResult> {
    if (this.running !== undefined) return this.running;
    const running = this.pass();
    this.running = running;
    try {
      return await running;
    } finally {
      this.running = undefined;
    }
  }

  private async pass(): Promise<RepairResult> {
    this.antiEntropy ??= AntiEntropy.create({ path: this.pool.path, threadsMax: this.pool.threadsMax, threadNice: this.pool.threadNice });
    const result = await repairPass(this.host, this.antiEntropy);
    this.counters.passes++;
    this.counters.keysRepaired += result.keysRepaired;
    this.counters.lastPass = result;
    return result;
  }

  /**
   * Run `start` with no anti-entropy task holding a node's environment:
   * lmdb-js shares one environment per path in a process, so a node opening
   * while a pool thread holds it read-only would get it read-only.
   */
  withEnvsReleased<T>(start: () => Promise<T>): Promise<T> {
    return this.antiEntropy === undefined ? start() : this.antiEntropy.withEnvsReleased(start);
  }

  /** The pass under way, if any, to its end (failed or not). */
  async settled(): Promise<void> {
    await this.running?.catch(() => {});
  }

  async close(): Promise<void> {
    await this.antiEntropy?.close();
  }
}
