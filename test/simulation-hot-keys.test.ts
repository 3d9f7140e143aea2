/**
 * The simulation (test/simulation/) with the hot-key routing of issue 15:
 * gets choose their R replicas by load (readBalance 'least-loaded', the
 * store's default) or round-robin, and the coordinator's hot-key cache
 * answers the clients' gets, under crashes, partitions, sloppy stand-ins,
 * membership changes and lww. The real coordinator decides; every checker
 * (R + W > N reads see acknowledged writes, convergence, no lost or
 * resurrected writes) judges the history. Its own file: simulation.test.ts's
 * 1,000 seeds take most of a file's time budget on a loaded machine.
 */
import t from 'tap';
import { SCENARIOS } from './simulation/scenario.js';
import { runSeed } from './simulation/simulation.js';

const SEEDS_PER_SCENARIO = 12;

const VARIANTS = [
  { label: "readBalance 'rotate'", extra: { readBalance: 'rotate' as const } },
  { label: "readBalance 'least-loaded' with a hot-key cache", extra: { readBalance: 'least-loaded' as const, hotKeyCache: { entriesMax: 4, entryTtlMs: 200 } } },
  { label: "readBalance 'least-loaded', readPath 'direct', with a hot-key cache", extra: { readBalance: 'least-loaded' as const, readPath: 'direct' as const, hotKeyCache: { entriesMax: 4, entryTtlMs: 200 } } },
];

for (const variant of VARIANTS) {
  t.test(`${variant.label}: every checker passes in every scenario`, async (t) => {
    for (const base of SCENARIOS) {
      const scenario = { ...base, ...variant.extra };
      let hits = 0;
      for (let seed = 0; seed < SEEDS_PER_SCENARIO; seed++) {
        const result = await runSeed(seed, scenario);
        hits += result.hotKeyCacheHits;
        if (result.failures.length > 0) {
          const lines = result.failures.slice(0, 5).map((f) => `  ${f.kind}: ${f.message}`);
          t.fail(`seed=${seed} scenario=${scenario.name} ${variant.label} failed:\n${lines.join('\n')}`);
        }
      }
      // The runs must exercise the cache they are named for.
      if ('hotKeyCache' in variant.extra) t.ok(hits > 0, `${scenario.name}: gets were answered by the hot-key cache (${hits})`);
      else t.pass(`${scenario.name}: ${SEEDS_PER_SCENARIO} seeds`);
    }
  });
}
