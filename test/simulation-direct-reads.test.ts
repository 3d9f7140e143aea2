/**
 * The simulation (test/simulation/) with readPath 'direct': gets read up
 * replicas in place, without the network, where lib/store/read-path.ts says
 * so; crashed and cut-off nodes are asked by message (and fail or are lost as
 * before). The real coordinator makes the decision here, under crashes,
 * partitions, sloppy stand-ins, membership changes and lww, and every checker
 * judges the history. Its own file: simulation.test.ts's 1,000 seeds take
 * most of a file's time budget on a loaded machine.
 */
import t from 'tap';
import { SCENARIOS } from './simulation/scenario.js';
import { runSeed } from './simulation/simulation.js';

const SEEDS_PER_SCENARIO = 20;

t.test("readPath 'direct': gets that read up replicas in place pass every checker in every scenario", async (t) => {
  for (const base of SCENARIOS) {
    const scenario = { ...base, readPath: 'direct' as const };
    let inPlace = 0;
    for (let seed = 0; seed < SEEDS_PER_SCENARIO; seed++) {
      const result = await runSeed(seed, scenario, { trace: seed === 0 });
      if (seed === 0) inPlace = result.trace.split('\n').filter((line) => line.includes('in place')).length;
      if (result.failures.length > 0) {
        const lines = result.failures.slice(0, 5).map((f) => `  ${f.kind}: ${f.message}`);
        t.fail(`seed=${seed} scenario=${scenario.name} readPath=direct failed:\n${lines.join('\n')}`);
      }
    }
    // The runs must exercise the path they are named for.
    t.ok(inPlace > 0, `${scenario.name}: reads were served in place (${inPlace} in seed 0)`);
  }
});
