/**
 * Membership changes in the simulation: a node joins or leaves, the ring
 * changes (Ring.withNodeAdded / withNodeRemoved: only partitions that move
 * change owners, Dynamo §4.2), and the data of moved partitions is streamed
 * from the nodes that hold it to the key's new replicas, as a REPLICATE of
 * each stored version (a DVVSet sync, so streaming is idempotent and order-free).
 *
 * The sequence, and why:
 * 1. New operations route by the new ring at once.
 * 2. Streaming starts once every operation started under the old ring has
 *    ended (its deadline) and its last messages have landed: what an
 *    acknowledged old-ring write wrote is then committed on its W nodes.
 * 3. Each holder is scanned while it is up (a down holder is waited for);
 *    every transfer is retried until its target acknowledges it.
 * 4. Then a leaving node is shut down, and tombstone purges resume: a purge
 *    decided while streaming could be undone by a stream of an older version.
 * Until the handoff ends, new replicas may lack data: reads overlapping a
 * change are exempt from the R + W > N check (history.exemptWindows).
 */
import assert from 'node:assert/strict';
import { hashKey32 } from '../../lib/ring/hash.js';
import { preferenceList } from '../../lib/ring/preference-list.js';
import type { Ring } from '../../lib/ring/ring.js';
import { Op, Status } from '../../lib/transport/wire.js';
import type { World } from './world.js';

/** How many transfers a handoff may hold at once: a bound, far above a run's keys. */
const TRANSFERS_MAX = 1 << 16;

export class MembershipChange {
  readonly startedMs: number;
  private readonly world: World;
  private readonly oldRing: Ring;
  private readonly newRing: Ring;
  private readonly leaving: number | undefined;
  private sourcesLeft: Set<number>;
  private transfersInFlight = 0;
  private finished = false;
  private readonly onDone: () => void;
  transfers = 0;

  constructor(world: World, newRing: Ring, leaving: number | undefined, settleMs: number, onDone: () => void) {
    this.world = world;
    this.oldRing = world.coordinator.ring;
    this.newRing = newRing;
    this.leaving = leaving;
    this.startedMs = world.queue.nowMs;
    this.onDone = onDone;
    world.coordinator.setRing(newRing);
    world.coordinator.purgesAllowed = false;
    this.sourcesLeft = new Set(world.nodes.keys());
    if (world.trace.enabled) world.trace.log(`ring: ${leaving === undefined ? 'node joins' : `n${leaving} leaves`}; nodes now ${newRing.nodeIds().join(',')}; handoff in ${settleMs}ms`);
    world.queue.after(settleMs, () => this.scanSources());
  }

  get done(): boolean {
    return this.finished;
  }

  private scanSources(): void {
    for (const source of [...this.sourcesLeft].sort((a, b) => a - b)) {
      const node = this.world.nodes.get(source);
      if (node === undefined) {
        this.sourcesLeft.delete(source);
        continue;
      }
      if (!node.isUp) continue;
      this.sourcesLeft.delete(source);
      for (const key of node.engine.keys()) {
        const targets = this.targetsOf(key);
        for (const target of targets) if (target !== source) this.transfer(source, key, node.engine.getText(key)!, target);
      }
    }
    if (this.sourcesLeft.size > 0) this.world.queue.after(this.world.retryMs, () => this.scanSources());
    else this.maybeFinish();
  }

  /** The key's replicas in the new ring that were not its replicas in the old one. */
  private targetsOf(key: string): number[] {
    const hash = hashKey32(Buffer.from(key, 'latin1'));
    const n = this.world.n;
    const before = preferenceList(this.oldRing, this.oldRing.partitionOf(hash), n);
    return preferenceList(this.newRing, this.newRing.partitionOf(hash), n).filter((node) => !before.includes(node));
  }

  private transfer(source: number, key: string, bytes: Uint8Array, target: number): void {
    assert.ok(this.transfersInFlight < TRANSFERS_MAX, 'handoff transfers over their bound');
    this.transfersInFlight++;
    this.transfers++;
    if (this.world.trace.enabled) this.world.trace.log(`handoff: ${key} n${source} -> n${target}`);
    const attempt = (): void => {
      this.world.coordinator.sendBackground(target, Op.REPLICATE, Buffer.from(key, 'latin1'), bytes, (status) => {
        if (status !== Status.OK) {
          this.world.queue.after(this.world.retryMs, attempt);
          return;
        }
        this.transfersInFlight--;
        this.maybeFinish();
      });
    };
    attempt();
  }

  private maybeFinish(): void {
    if (this.finished || this.sourcesLeft.size > 0 || this.transfersInFlight > 0) return;
    this.finished = true;
    const world = this.world;
    if (this.leaving !== undefined) {
      world.nodes.get(this.leaving)?.crash();
      world.nodes.delete(this.leaving);
      world.coordinator.unlink(this.leaving);
    }
    world.coordinator.purgesAllowed = true;
    world.history.exemptWindows.push([this.startedMs, world.queue.nowMs]);
    if (world.trace.enabled) world.trace.log(`handoff done: ${this.transfers} transfers since ${this.startedMs.toFixed(2)}ms`);
    this.onDone();
  }
}
