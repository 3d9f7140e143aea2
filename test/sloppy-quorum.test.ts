/**
 * Sloppy-quorum targets (Dynamo §4.6), pure: one integer per target, N
 * targets always, stand-ins clockwise past the owners.
 */
import t from 'tap';
import { Ring } from '../lib/ring/ring.js';
import { PreferenceListTable, preferenceList } from '../lib/ring/preference-list.js';
import { hintFieldOfTarget, hintedTarget, isHinted, nodeOfTarget, sloppyTargets, targetsFor } from '../lib/ring/sloppy-quorum.js';
import { readTargets } from '../lib/store/routing.js';

const ring = Ring.create([0, 1, 2, 3, 4], 16);

t.test('a hinted target carries its node and its owner', async (t) => {
  const target = hintedTarget(3, 1);
  t.equal(nodeOfTarget(target), 3);
  t.equal(hintFieldOfTarget(target), 2, 'the wire field is owner + 1');
  t.ok(isHinted(target));
  t.notOk(isHinted(3));
  t.throws(() => hintedTarget(2, 2), 'a node cannot stand in for itself');
});

t.test('sloppy targets: up owners, then one stand-in per down owner, never a listed node', async (t) => {
  for (let partition = 0; partition < ring.partitionCount; partition++) {
    const owners = preferenceList(ring, partition, 3);
    const down = owners[1]!;
    const targets = Array.from(sloppyTargets(ring, partition, 3, (node) => node !== down));
    t.equal(targets.length, 3);
    t.same(targets.slice(0, 2).map(nodeOfTarget), owners.filter((node) => node !== down), `partition ${partition}: up owners first, in order`);
    const standIn = targets[2]!;
    t.ok(isHinted(standIn) && hintFieldOfTarget(standIn) - 1 === down && !owners.includes(nodeOfTarget(standIn)), `partition ${partition}: a stand-in outside the list holds the hint for node ${down}`);
  }
  const allDown = Array.from(sloppyTargets(ring, 0, 3, () => false));
  t.same(allDown, preferenceList(ring, 0, 3), 'no node up: the owners stay, unhinted (their requests fail at once)');
});

t.test('a node that may not stand in (leaving the ring) is passed over for the next up node', async (t) => {
  for (let partition = 0; partition < ring.partitionCount; partition++) {
    const owners = preferenceList(ring, partition, 3);
    const down = owners[1]!;
    const isUp = (node: number) => node !== down;
    const usual = nodeOfTarget(sloppyTargets(ring, partition, 3, isUp)[2]!);
    const targets = Array.from(sloppyTargets(ring, partition, 3, isUp, (node) => isUp(node) && node !== usual));
    const standIn = targets[2]!;
    t.ok(isHinted(standIn) && hintFieldOfTarget(standIn) - 1 === down, `partition ${partition}: still a stand-in for node ${down}`);
    t.ok(nodeOfTarget(standIn) !== usual && !owners.includes(nodeOfTarget(standIn)), `partition ${partition}: not node ${usual}, which leaves, nor an owner`);
    t.same(targets.slice(0, 2), owners.filter((node) => node !== down), 'the up owners are targets as before');
  }
  const table = new PreferenceListTable(ring, 3);
  const hash = 0x1234_5678;
  const list = Array.from(table.forHash(hash));
  const leaving = nodeOfTarget(targetsFor(table, hash, (node) => node !== list[0], true)[2]!);
  const targets = Array.from(targetsFor(table, hash, (node) => node !== list[0], true, (node) => node !== list[0] && node !== leaving));
  t.ok(targets.every((target) => nodeOfTarget(target) !== leaving), 'targetsFor passes it on');
});

t.test("a read's stand-ins pass over a node that may not stand in too: its repair would land a hint there (routing.ts readTargets)", async (t) => {
  const six = Ring.create([0, 1, 2, 3, 4, 5], 16); // two down owners, and two stand-ins besides the leaving one
  const table = new PreferenceListTable(six, 3);
  for (let partition = 0; partition < six.partitionCount; partition++) {
    const hash = (partition * (2 ** 32 / six.partitionCount)) >>> 0; // the first hash of the partition
    const owners = Array.from(table.forHash(hash));
    const down = new Set([owners[0]!, owners[1]!]);
    const isUp = (node: number) => !down.has(node);
    // R = 2 with two of the three owners down: the read needs stand-ins.
    const usual = Array.from(readTargets(table, hash, 2, true, isUp)).filter(isHinted).map(nodeOfTarget);
    t.equal(usual.length, 2, `partition ${partition}: two stand-ins`);
    const leaving = usual[0]!;
    const targets = Array.from(readTargets(table, hash, 2, true, isUp, (node) => isUp(node) && node !== leaving));
    t.ok(targets.every((target) => nodeOfTarget(target) !== leaving), `partition ${partition}: not node ${leaving}, which leaves`);
    t.same(targets.filter((target) => !isHinted(target)), owners.filter(isUp), 'the up owner is a target as before');
    t.equal(targets.filter(isHinted).length, 2, 'and two stand-ins, still');
  }
});

t.test('targetsFor returns the shared preference list while its nodes are up, and strict mode never substitutes', async (t) => {
  const table = new PreferenceListTable(ring, 3);
  const hash = 0x1234_5678;
  t.equal(targetsFor(table, hash, () => true, true), table.forHash(hash), 'the table view itself: no allocation');
  const list = Array.from(table.forHash(hash));
  t.same(Array.from(targetsFor(table, hash, (node) => node !== list[0], false)), list, 'sloppy: false keeps the list');
  t.ok(Array.from(targetsFor(table, hash, (node) => node !== list[0], true)).some(isHinted), 'sloppy: true brings a stand-in');
});
