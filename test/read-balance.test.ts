/**
 * Least-loaded reads (lib/store/routing.ts leastLoadedReplicas, with
 * lib/store/replica-load.ts): a get asks the R live replicas whose node
 * threads were handed the fewest requests lately, so the nodes a hot key's
 * writes keep busy are spared its reads. Pure: loads and rotation passed in.
 * Then the effect on a skewed stream: the node load that writes make uneven
 * is evened out by the reads' choice, where round-robin leaves it uneven.
 */
import t from 'tap';
import fc from 'fast-check';
import { leastLoadedReplicas, readReplicas } from '../lib/store/routing.js';
import { REPLICA_LOAD_HALF_LIFE, ReplicaLoad } from '../lib/store/replica-load.js';
import { Prng } from '../lib/prng.js';
import { Ring } from '../lib/ring/ring.js';
import { PreferenceListTable } from '../lib/ring/preference-list.js';
import { ZipfianGenerator } from '../bench/ycsb/zipfian.js';

const allUp = () => true;

t.test('the R least loaded live replicas, ties in rotation order', async (t) => {
  const list = Int32Array.from([4, 5, 6]);
  const load = [0, 0, 0, 0, 10, 3, 7];
  t.same(Array.from(leastLoadedReplicas(list, 2, 'quorum', 0, allUp, (n) => load[n]!)), [5, 6]);
  t.same(Array.from(leastLoadedReplicas(list, 1, 'quorum', 0, allUp, (n) => load[n]!)), [5]);
  const equal = () => 1;
  t.same(Array.from(leastLoadedReplicas(list, 2, 'quorum', 1, allUp, equal)), [5, 6], 'equal loads: rotation decides');
  t.same(Array.from(leastLoadedReplicas(list, 2, 'quorum', 2, allUp, equal)), [6, 4]);
  t.same(Array.from(leastLoadedReplicas(list, 3, 'quorum', 0, allUp, equal)), [4, 5, 6], 'R = N: all');
  t.same(Array.from(leastLoadedReplicas(list, 1, 'all', 0, allUp, equal)), [4, 5, 6], "fanout 'all': all");
});

t.test('down replicas are chosen only when too few are live, as readReplicas does', async (t) => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 5 }),
      fc.integer({ min: 1, max: 5 }),
      fc.integer({ min: 0, max: 1000 }),
      fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }),
      fc.array(fc.nat(100), { minLength: 5, maxLength: 5 }),
      (n, rRaw, rotation, up, loads) => {
        const r = Math.min(rRaw, n);
        const list = Int32Array.from({ length: n }, (_, i) => i);
        const isUp = (node: number) => up[node]!;
        const chosen = Array.from(leastLoadedReplicas(list, r, 'quorum', rotation, isUp, (node) => loads[node]!));
        const plain = Array.from(readReplicas(list, r, 'quorum', rotation, isUp));
        if (chosen.length !== plain.length || new Set(chosen).size !== chosen.length) return false;
        if (!chosen.every((node) => list.includes(node))) return false;
        const live = chosen.filter(isUp).length;
        if (live !== plain.filter(isUp).length) return false;
        // No unchosen live replica is less loaded than a chosen one.
        const chosenLive = chosen.filter(isUp);
        const maxChosen = Math.max(...chosenLive.map((node) => loads[node]!));
        return r >= n || list.every((node) => !isUp(node) || chosen.includes(node) || loads[node]! >= maxChosen);
      },
    ),
    { seed: 0x1ea57, numRuns: 500 },
  );
  t.pass('same live count as round-robin, distinct targets, never a more loaded live one over a less loaded one');
});

t.test('ReplicaLoad counts per node and halves every half-life', async (t) => {
  const load = new ReplicaLoad();
  load.add(3);
  load.add(3);
  load.add(40);
  t.equal(load.of(3), 2);
  t.equal(load.of(40), 1);
  t.equal(load.of(7), 0);
  for (let i = 3; i < REPLICA_LOAD_HALF_LIFE; i++) load.add(1);
  t.equal(load.of(3), 1, 'halved at the half-life');
  t.equal(load.of(40), 0.5);
});

/**
 * A model of YCSB-B plain zipfian on 8 nodes, N=3 R=2: 5% writes reach all
 * three replicas, 95% reads ask two. Node load imbalance (max/mean of the
 * requests each node was handed) with round-robin reads and least-loaded ones.
 */
function imbalance(balance: 'rotate' | 'least-loaded', seed: number): number {
  const ring = Ring.create([0, 1, 2, 3, 4, 5, 6, 7], 64);
  const table = new PreferenceListTable(ring, 3);
  const records = 10_000;
  const zipf = new ZipfianGenerator(records, 0.99);
  const prng = new Prng(seed);
  const hashOf = new Uint32Array(records);
  for (let i = 0; i < records; i++) hashOf[i] = prng.nextUint32();
  const load = new ReplicaLoad();
  const served = new Float64Array(8);
  let rotation = 0;
  for (let op = 0; op < 200_000; op++) {
    const list = table.forHash(hashOf[zipf.draw(prng)]!);
    const write = prng.nextBelow(100) < 5;
    const targets = write
      ? list
      : balance === 'rotate'
        ? readReplicas(list, 2, 'quorum', rotation++, allUp)
        : leastLoadedReplicas(list, 2, 'quorum', rotation++, allUp, (node) => load.of(node));
    for (let i = 0; i < targets.length; i++) {
      served[targets[i]!]!++;
      load.add(targets[i]!);
    }
  }
  const mean = served.reduce((a, b) => a + b, 0) / served.length;
  return Math.max(...served) / mean;
}

t.test('on a skewed stream, least-loaded reads even the node load out where round-robin does not', async (t) => {
  for (const seed of [1, 2, 3]) {
    const rotate = imbalance('rotate', seed);
    const leastLoaded = imbalance('least-loaded', seed);
    t.ok(leastLoaded < rotate, `seed=${seed}: least-loaded ${leastLoaded.toFixed(3)} < rotate ${rotate.toFixed(3)}`);
    t.ok(leastLoaded <= 1.1, `seed=${seed}: least-loaded imbalance ${leastLoaded.toFixed(3)} <= 1.10`);
  }
});
