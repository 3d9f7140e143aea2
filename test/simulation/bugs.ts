/**
 * Bugs planted on purpose, one per checker, to show each checker can fail
 * (test/simulation.test.ts; `long-run.js --bug NAME` runs one by hand).
 */
import { decodeValue } from '../../lib/store/value-codec.js';
import { siblingsOf } from '../../lib/version/dotted-version-vector.js';
import { decodeObject } from '../../lib/version/object-codec.js';
import type { FailureKind } from './checkers.js';
import { orderedEntryOf } from '../../lib/version/ordered-version.js';
import type { Bugs } from './simulation.js';
import { type Scenario, scenarioNamed, withoutPutMany } from './scenario.js';

export interface PlantedBug {
  name: string;
  description: string;
  /** The checker that must catch it. */
  caughtAs: FailureKind;
  /** The scenario it is planted in. */
  scenario: string;
  /** Run without the clients' putMany (scenario.ts withoutPutMany): their traffic moved its first catch past the seeds tried. */
  withoutPutMany?: boolean;
  bugs: Bugs;
}

/** Every node's storage silently skips writing objects that hold a value numbered ...3 (w3, w13, ...). */
function dropsWritesOfValuesEndingIn3(_key: string, bytes: Uint8Array): boolean {
  return siblingsOf(decodeObject(bytes)).some((s) => String(decodeValue(s.value)).endsWith('3'));
}

/** Every node's storage silently skips writing leader-ordered objects whose value is numbered ...3 (o3, o13, ...). */
function dropsOrderedWritesEndingIn3(_key: string, bytes: Uint8Array): boolean {
  const entry = orderedEntryOf(decodeObject(bytes));
  return entry !== undefined && String(decodeValue(entry.sibling.value)).endsWith('3');
}

/** Every node's storage silently skips the companion key (space 77, ordered-history.ts) of ordered writes numbered ...3: a torn multi-key write. */
function dropsCompanionsEndingIn3(key: string, bytes: Uint8Array): boolean {
  const raw = Buffer.from(key, 'latin1');
  return raw[0] === 0xff && raw.readUInt32BE(1) === 77 && dropsOrderedWritesEndingIn3(key, bytes);
}

export const PLANTED_BUGS: readonly PlantedBug[] = [
  {
    name: 'drop-write',
    description: 'the storage engine acknowledges a commit but drops some of its writes',
    caughtAs: 'lost-write',
    scenario: 'calm',
    bugs: { storage: { dropPut: dropsWritesOfValuesEndingIn3 } },
  },
  {
    name: 'ignore-replicate',
    description: 'replicas answer REPLICATE with OK and store nothing',
    caughtAs: 'divergence',
    scenario: 'crashes',
    bugs: { node: { ignoreReplicate: true } },
  },
  {
    name: 'ack-early',
    description: 'replicas acknowledge REPLICATE on arrival and apply it 30 ms later',
    caughtAs: 'stale-read',
    scenario: 'calm',
    bugs: { node: { ackReplicateEarly: { applyLagMs: 30 } } },
  },
  {
    name: 'force-blind',
    description: "coordinating nodes ignore the client's context and overwrite whatever they hold",
    caughtAs: 'dropped-sibling',
    scenario: 'crashes',
    bugs: { node: { forceBlind: true } },
  },
  {
    name: 'drop-ordered-write',
    description: 'the storage engine acknowledges a commit but drops some leader-ordered writes',
    caughtAs: 'lost-ordered-write',
    scenario: 'ordered',
    bugs: { storage: { dropPut: dropsOrderedWritesEndingIn3 } },
  },
  {
    name: 'ignore-ordered-replicate',
    description: "replicas (and new leaders catching up) answer ORDERED_REPLICATE with OK and store nothing",
    caughtAs: 'stale-consistent-read',
    scenario: 'ordered',
    bugs: { node: { ignoreOrderedReplicate: true } },
  },
  {
    name: 'tear-multi-key',
    description: "the storage engine writes a multi-key write's first key but drops another of its keys",
    caughtAs: 'multi-key-torn',
    scenario: 'ordered',
    bugs: { storage: { dropPut: dropsCompanionsEndingIn3 } },
  },
  {
    name: 'skip-expect',
    description: "the leader ignores a write's compare-and-set expectation",
    caughtAs: 'cas-race',
    scenario: 'ordered',
    bugs: { node: { skipExpect: true } },
  },
  {
    name: 'range-drops-last',
    description: 'range pages leave out their last key yet say the range is complete (an off-by-one at the end of a page)',
    caughtAs: 'stale-consistent-read',
    scenario: 'ordered',
    bugs: { node: { rangeDropsLast: true } },
  },
  {
    name: 'mint-without-marks',
    description: "nodes mint putMany's MINT_ONLY versions without the pending-mints marks: a key's reused actor mints again a dot not stored yet, under another value (KV679)",
    caughtAs: 'dropped-sibling',
    scenario: 'calm',
    bugs: { node: { mintWithoutMarks: true } },
  },
  {
    name: 'ack-mint',
    description: "putMany counts a MINT_ONLY answer (a version minted, stored nowhere) as its minting node's acknowledgement, and sends the object to the other replicas only",
    caughtAs: 'stale-read',
    scenario: 'calm',
    bugs: { mintAnswerAcks: true },
  },
  {
    name: 'stale-gets',
    description: "in a last-writer-wins store, nodes answer each GET of a key with what they answered the GET of it before (a stale read cache)",
    caughtAs: 'resurrected',
    scenario: 'lww',
    bugs: { node: { staleGets: true } },
  },
  {
    name: 'lww-replicas',
    description: "nodes resolve conflicts by last-writer-wins while the store promises siblings",
    caughtAs: 'dropped-sibling',
    scenario: 'partitions',
    bugs: { replicaConflicts: 'lww' },
  },
  {
    name: 'apply-at-prepare',
    description: "participants apply a transaction's change when asked to prepare it, before the decision is durable (the item is never marked as held)",
    caughtAs: 'txn-atomicity',
    scenario: 'transactions',
    bugs: { transactions: { applyAtPrepare: true } },
  },
  {
    name: 'strand-foreign',
    description: 'issue 9 planted back: no ownership handoff, and hints go to their named owner even when a membership change moved the key',
    caughtAs: 'lost-write',
    scenario: 'membership-outage',
    bugs: { strandForeign: true },
  },
  {
    name: 'serve-uncommitted',
    description: "the leader's copy is served while the key's write is in flight or failed after reaching the leader (not on W replicas)",
    caughtAs: 'unstable-consistent-read',
    scenario: 'ordered',
    // Seed 52 first without putMany; with it, 172.
    withoutPutMany: true,
    bugs: { serveUncommitted: true },
  },
];

/** The scenario `bug` runs in. */
export function plantedBugScenario(bug: PlantedBug): Scenario {
  const scenario = scenarioNamed(bug.scenario);
  return bug.withoutPutMany === true ? withoutPutMany(scenario) : scenario;
}

export function plantedBug(name: string): PlantedBug {
  const bug = PLANTED_BUGS.find((b) => b.name === name);
  if (bug === undefined) throw new Error(`no planted bug ${name}; known: ${PLANTED_BUGS.map((b) => b.name).join(', ')}`);
  return bug;
}
