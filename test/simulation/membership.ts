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
 * 3. Each holder's data in the moved partitions is paged out of the real
 *    Replica (Op.PARTITION_SCAN; a down holder is retried until it is up),
 *    REPLICATEd to each new replica until acknowledged, and then dropped
 *    from a holder that is no longer a replica (Op.DROP_IF_COVERED, which
 *    keeps anything newer that reached it meanwhile).
 * 4. Then a leaving node is shut down, and tombstone purges resume: a purge
 *    decided while streaming could be undone by a stream of an older version.
 * Until the handoff ends, new replicas may lack data: reads overlapping a
 * change are exempt from the R + W > N check (history.exemptWindows).
 */
import assert from 'node:assert/strict';
import { hashKey32 } from '../../lib/ring/hash.js';
import { preferenceList } from '../../lib/ring/preference-list.js';
import type { Ring } from '../../lib/ring/ring.js';
import { Op, Status, decodeScanPage, encodeScanRequest } from '../../lib/transport/wire.js';
import type { World } from './world.js';

/** How many transfers a handoff may hold at once: a bound, far above a run's keys. */
const TRANSFERS_MAX = 1 << 16;
/** Entries per PARTITION_SCAN page: small, so that paging is exercised. */
const SCAN_PAGE_ENTRIES = 4;

export class MembershipChange {
  readonly startedMs: number;
  private readonly world: World;
  private readonly oldRing: Ring;
  private readonly newRing: Ring;
  private readonly leaving: number | undefined;
  private readonly sourcesLeft: Set<number>;
  /** Partitions whose data moves, for PARTITION_SCAN's bitmap. */
  private readonly moved: number[];
  private scanStarted = false;
  private scansInFlight = 0;
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
    this.moved = this.movedPartitions();
    if (world.trace.enabled) world.trace.log(`ring: ${leaving === undefined ? 'node joins' : `n${leaving} leaves`}; nodes now ${newRing.nodeIds().join(',')}; handoff in ${settleMs}ms`);
    world.queue.after(settleMs, () => {
      this.scanStarted = true;
      this.scanSources();
    });
  }

  get done(): boolean {
    return this.finished;
  }

  private scanSources(): void {
    for (const source of [...this.sourcesLeft].sort((a, b) => a - b)) {
      this.sourcesLeft.delete(source);
      this.scanPage(source, new Uint8Array(0));
    }
  }

  /**
   * One page of a holder's data in the moved partitions, read by the real
   * Replica (Op.PARTITION_SCAN); retried until the holder answers.
   */
  private scanPage(source: number, cursor: Uint8Array): void {
    if (!this.world.nodes.has(source)) return this.maybeFinish();
    this.scansInFlight++;
    const request = encodeScanRequest(SCAN_PAGE_ENTRIES, this.newRing.partitionBits, this.moved);
    this.world.coordinator.sendBackground(source, Op.PARTITION_SCAN, cursor, request, (status, payload) => {
      this.scansInFlight--;
      if (status !== Status.OK || payload === undefined) {
        this.scansInFlight++;
        this.world.queue.after(this.world.retryMs, () => {
          this.scansInFlight--;
          this.scanPage(source, cursor);
        });
        return;
      }
      const page = decodeScanPage(payload, 0, payload.byteLength);
      for (const entry of page.entries) this.moveEntry(source, entry.key, entry.object);
      if (page.next !== undefined) this.scanPage(source, page.next);
      else this.maybeFinish();
    });
  }

  /** Partitions whose preference list gained a node: the ones whose data must move. */
  private movedPartitions(): number[] {
    const moved: number[] = [];
    const n = this.world.n;
    for (let p = 0; p < this.newRing.partitionCount; p++) {
      const before = preferenceList(this.oldRing, p, n);
      if (preferenceList(this.newRing, p, n).some((node) => !before.includes(node))) moved.push(p);
    }
    return moved;
  }

  /** The key's replicas in the new ring that were not its replicas in the old one. */
  private targetsOf(key: Uint8Array): { targets: number[]; keeps: number[] } {
    const hash = hashKey32(key);
    const n = this.world.n;
    const before = preferenceList(this.oldRing, this.oldRing.partitionOf(hash), n);
    const after = preferenceList(this.newRing, this.newRing.partitionOf(hash), n);
    return { targets: after.filter((node) => !before.includes(node)), keeps: after };
  }

  /**
   * REPLICATE the holder's version to each new replica (retried until
   * acknowledged); then, if the holder is no longer a replica of the key,
   * Op.DROP_IF_COVERED removes its copy unless something newer reached it.
   */
  private moveEntry(source: number, key: Uint8Array, object: Uint8Array): void {
    const { targets, keeps } = this.targetsOf(key);
    const pending = targets.filter((target) => target !== source);
    let left = pending.length;
    const moved = (): void => {
      if (keeps.includes(source)) return;
      this.transfer(source, key, object, source, Op.DROP_IF_COVERED, () => {});
    };
    if (left === 0) return moved();
    for (const target of pending) {
      this.transfer(source, key, object, target, Op.REPLICATE, () => {
        if (--left === 0) moved();
      });
    }
  }

  private transfer(source: number, key: Uint8Array, object: Uint8Array, target: number, op: number, done: () => void): void {
    assert.ok(this.transfersInFlight < TRANSFERS_MAX, 'handoff transfers over their bound');
    this.transfersInFlight++;
    this.transfers++;
    if (this.world.trace.enabled) this.world.trace.log(`handoff: ${op === Op.REPLICATE ? 'REPLICATE' : 'DROP_IF_COVERED'} ${Buffer.from(key).toString('latin1')} of n${source} -> n${target}`);
    const attempt = (): void => {
      if (!this.world.nodes.has(target)) {
        this.transfersInFlight--;
        return this.maybeFinish();
      }
      this.world.coordinator.sendBackground(target, op, key, object, (status) => {
        if (status !== Status.OK) {
          this.world.queue.after(this.world.retryMs, attempt);
          return;
        }
        this.transfersInFlight--;
        done();
        this.maybeFinish();
      });
    };
    attempt();
  }

  private maybeFinish(): void {
    if (this.finished || !this.scanStarted || this.sourcesLeft.size > 0 || this.scansInFlight > 0 || this.transfersInFlight > 0) return;
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
