/**
 * A membership change (Dynamo §4.9) as the coordinator runs it: stream the
 * ranges that move to the nodes that gain them while traffic goes on (puts to
 * those ranges reach the gainers too), switch the ring (persisted first, so a
 * restart routes the same way), let the requests routed by the old ring end,
 * then hand over what reached the losers meanwhile and drop it there
 * (range-move.ts). The Store runs it around starting or stopping a node's
 * thread; the simulation runs the same sequence on its virtual clock.
 */
import { ErrorCode, RingtableError } from '../errors.js';
import { PreferenceListTable } from '../ring/preference-list.js';
import { planMove, type MovePlan } from '../ring/move-plan.js';
import type { Ring } from '../ring/ring.js';
import type { Coordinator } from './coordinator.js';
import type { CoordinatorHost } from './coordinator-host.js';
import { type MoveCounters, type MoveHost, copyToGainers, dropStaleOnGainers, handOverAll, handOverAndDrop } from './range-move.js';

/** The last addNode/removeNode, as `stats().membership` reports it. */
export interface MembershipChange {
  kind: 'add' | 'remove';
  nodeId: number;
  partitions: number;
  /** Partitions whose replica set changed. */
  partitionsMoved: number;
  /** Partitions whose primary changed over all partitions: about 1/(nodes+1) for an add (Dynamo §6.2 strategy 3). */
  movedFraction: number;
  /** Key copies streamed to gaining nodes (a key counts once per source page it was on). */
  keysCopied: number;
  /** Keys the losing nodes dropped once handed over (not those a node kept because it held a newer copy). */
  keysDropped: number;
  /**
   * Stale copies the gaining nodes still held of the ranges they gain (from an
   * earlier change they were down for), handed over and dropped before the
   * copy: only those a node dropped, not those it kept because it held a newer copy.
   */
  staleDropped: number;
  durationMs: number;
  /**
   * Set when a losing node failed while it handed over and dropped its moved
   * ranges and had not handed over everything at the end (after the ring
   * switched, so the change completed): what it kept stays on its disk.
   */
  handOverFailure?: string;
}

const WAIT_POLL_MS = 20;
const HANDOVER_ATTEMPTS_MAX = 5;

/**
 * One change at a time: while it runs, `coordinator.membershipChange` holds it
 * (purges wait, anti-entropy waits). `leavingNode`: the node a removal takes
 * out, which takes no hints from before its own hints drain to the end
 * (sloppy-quorum.ts sloppyTargets).
 */
export async function changeMembership<T>(coordinator: Coordinator, change: () => Promise<T>, leavingNode?: number): Promise<T> {
  if (coordinator.membershipChange !== undefined) throw new RingtableError(ErrorCode.INVALID_STATE, 'a membership change is already in progress');
  coordinator.leavingNode = leavingNode;
  let running: Promise<T>;
  try {
    running = change();
  } catch (error) {
    coordinator.leavingNode = undefined;
    throw error;
  }
  coordinator.membershipChange = running;
  try {
    return await running;
  } finally {
    coordinator.leavingNode = undefined;
    coordinator.membershipChange = undefined;
    coordinator.membershipChangeEnded();
  }
}

/**
 * Stream the changing ranges, switch the ring, then hand over and drop what
 * moved away. `persistRing` runs just before the switch; `reachable` says
 * which nodes may be streamed from or to (up ones, and a joining one).
 * The switch is the commit point: if this throws (before it), nothing
 * changed; past it the change completes, and a hand-over that failed is
 * reported in the result's `handOverFailure`.
 */
export async function moveTo(
  coordinator: Coordinator,
  host: CoordinatorHost,
  next: Ring,
  kind: 'add' | 'remove',
  nodeId: number,
  reachable: (node: number) => boolean,
  persistRing: (ring: Ring) => void,
): Promise<MembershipChange> {
  const startedMs = host.monotonicMs();
  const n = coordinator.options.n;
  const before = coordinator.ring;
  const plan: MovePlan = planMove(before, next, n);
  const changed = new Uint8Array(before.partitionCount);
  for (const move of plan.moves) changed[move.partition] = 1;
  const table = new PreferenceListTable(next, n);
  const counters: MoveCounters = { keysCopied: 0, keysDropped: 0, pages: 0, staleDropped: 0 };
  // Keys of dropped spaces are not streamed anywhere (DESIGN.md §5 dropSpace).
  const moveHost = { send: host.send, isDropped: (key: Uint8Array) => coordinator.isDroppedKey(key) };
  // Ownership sweeps pause while a change runs (its copies to gainers lie
  // outside their ranges on purpose): let those in flight stop first.
  await waitFor(host, () => coordinator.ownership.active === 0, coordinator.options.timeoutMs);
  try {
    await dropStaleOnGainers(moveHost, before, plan, counters);
    coordinator.beginTransition(table, changed);
    try {
      await copyToGainers(moveHost, before, plan, reachable, counters);
      // The switch: from here requests route by the new ring; it is persisted first, so a restart does too.
      persistRing(next);
      coordinator.switchRing(next, table);
    } finally {
      coordinator.endTransition();
    }
  } finally {
    // Whatever happened, a node may now hold keys outside its ranges: a loser
    // that was down (skipped by the copy and the drop below) or whose
    // hand-over fails, a source that was down, a gainer of a change that
    // failed before the switch. Each is swept when it is up (ownership-handoff.ts):
    // never strand an acknowledged write on a node no read looks at (issue 9).
    const members = coordinator.ring.nodeIds();
    for (const move of plan.moves) for (const node of [...move.before, ...move.gainers]) if (members.includes(node)) coordinator.oweSweep(node);
  }
  // Requests routed by the old ring may still land on the nodes that lost
  // ranges: let them finish (they end by their deadline) before those drop.
  const routedBefore = coordinator.activeOperations();
  await waitFor(host, () => routedBefore.every((operation) => !coordinator.isActive(operation)), coordinator.options.timeoutMs);
  // A removal also hands over everything the leaving node holds, not only the
  // ranges it replicated just before leaving (found by the simulation, seed 2445).
  const leaving = kind === 'remove' ? { table, nodeId } : undefined;
  const handOverFailure = await handOver(host, moveHost, coordinator.options.timeoutMs, before, plan, reachable, counters, leaving);
  return {
    kind,
    nodeId,
    partitions: plan.partitionCount,
    partitionsMoved: plan.moves.length,
    movedFraction: plan.primariesMoved / plan.partitionCount,
    keysCopied: counters.keysCopied,
    keysDropped: counters.keysDropped,
    staleDropped: counters.staleDropped,
    durationMs: host.monotonicMs() - startedMs,
    ...(handOverFailure === undefined ? {} : { handOverFailure }),
  };
}

/**
 * The switch committed the change: whatever happens now, it completes (a
 * loser failing here used to fail addNode, which stopped the new node and
 * left it in the ring as a phantom). A step that fails (a node down for a
 * moment) is tried again, the whole hand-over being idempotent (a merge, then
 * a drop that keeps anything newer); found by the simulation. Returns what
 * went wrong when a loser failed and, still down at the end, kept what it
 * did not hand over.
 */
async function handOver(
  host: CoordinatorHost,
  moveHost: MoveHost,
  retryDelayMs: number,
  before: Ring,
  plan: MovePlan,
  reachable: (node: number) => boolean,
  counters: MoveCounters,
  leaving: { table: PreferenceListTable; nodeId: number } | undefined,
): Promise<string | undefined> {
  const losers = new Set(plan.moves.flatMap((move) => move.losers));
  let failure: string | undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      await handOverAndDrop(moveHost, before, plan, reachable, counters);
      if (leaving !== undefined && reachable(leaving.nodeId)) await handOverAll(moveHost, leaving.table, leaving.nodeId, counters);
      // A loser down during the last attempt was skipped: it kept its moved ranges.
      return [...losers].every(reachable) ? undefined : failure;
    } catch (error) {
      failure = error instanceof Error ? error.message : String(error);
      if (attempt >= HANDOVER_ATTEMPTS_MAX) return failure;
      await host.sleep(retryDelayMs);
    }
  }
}

/**
 * A removal's first step, before anything changes: the leaving node's hints
 * belong to other nodes, so they are handed off first (hinted-handoff.ts;
 * their owners must be up). False if some are still there after `waitMs`:
 * the caller refuses the removal. Requests routed from now on pass the node
 * over as a stand-in (`coordinator.leavingNode`, set by changeMembership),
 * but a write routed just before may have picked it and still be on its way:
 * its hint would land after the drain and leave with the node, an
 * acknowledged copy lost (Dynamo §4.6: a hint is a replica the write counted).
 * So the drain first waits until the operations in flight now have settled
 * (each ends by its deadline): every copy they counted has landed by then.
 */
export async function drainLeavingHints(coordinator: Coordinator, host: Pick<CoordinatorHost, 'monotonicMs' | 'sleep'>, hintsHeld: () => number, waitMs: number): Promise<boolean> {
  if (coordinator.leavingNode === undefined) throw new RingtableError(ErrorCode.INVALID_STATE, 'drainLeavingHints runs inside a removal (changeMembership with its leaving node)');
  const routedBefore = coordinator.activeOperations();
  await waitFor(host, () => routedBefore.every((operation) => !coordinator.isActive(operation)), coordinator.options.timeoutMs);
  return waitFor(host, () => hintsHeld() === 0, waitMs);
}

/** Poll `probe` on the host's clock until it holds (true) or `timeoutMs` passed (false). */
export async function waitFor(host: Pick<CoordinatorHost, 'monotonicMs' | 'sleep'>, probe: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = host.monotonicMs() + timeoutMs;
  while (!probe()) {
    if (host.monotonicMs() > deadline) return false;
    await host.sleep(WAIT_POLL_MS);
  }
  return true;
}
