/**
 * The simulation from the command line (`npm run simulate -- ...`):
 *
 *   node dist/test/simulation/long-run.js --seconds 600           seeds from 0 for ten minutes
 *   node dist/test/simulation/long-run.js --seeds 100000 --from 5000
 *   node dist/test/simulation/long-run.js --seed 1234 --trace     replay one seed with its event trace
 *   node dist/test/simulation/long-run.js --scenario lww --seeds 500
 *   node dist/test/simulation/long-run.js --bug drop-write --seeds 50   a planted bug, to watch a checker fail
 *   node dist/test/simulation/long-run.js --scenario sloppy --seed 31306 --without-put-many --trace
 *                                   a regression seed of test/simulation.test.ts, which run without the clients' putMany
 *
 * Without --scenario a seed runs scenarioForSeed(seed), so a seed alone
 * names a run. Exits 1 if any seed failed; every failure prints its seed and
 * the command that replays it.
 */
import { parseArgs } from 'node:util';
import { plantedBug, plantedBugScenario } from './bugs.js';
import { NAMED_SCENARIOS, SCENARIOS, scenarioForSeed, scenarioNamed, withoutPutMany } from './scenario.js';
import { type RunOptions, type RunResult, runSeed } from './simulation.js';

const { values } = parseArgs({
  options: {
    seed: { type: 'string' },
    seeds: { type: 'string' },
    from: { type: 'string', default: '0' },
    seconds: { type: 'string' },
    scenario: { type: 'string' },
    bug: { type: 'string' },
    trace: { type: 'boolean', default: false },
    'without-put-many': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  console.log('usage: long-run.js [--seed S [--trace]] [--seeds COUNT] [--from S] [--seconds T] [--scenario NAME] [--bug NAME] [--without-put-many]');
  console.log(`scenarios: ${[...SCENARIOS, ...NAMED_SCENARIOS].map((s) => `${s.name} (${s.description})`).join('\n           ')}`);
  process.exit(0);
}

function integer(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`--${name} must be a non-negative integer, got ${text}`);
  return value;
}

const bug = values.bug === undefined ? undefined : plantedBug(values.bug);
const namedScenario = values.scenario !== undefined ? scenarioNamed(values.scenario) : bug !== undefined ? plantedBugScenario(bug) : undefined;
// The pinned regression seeds run so (scenario.ts withoutPutMany): their replay must too, or it runs another schedule.
const withoutPutManyFlag = values['without-put-many'];
const scenarioOf = (seed: number) => {
  const scenario = namedScenario ?? scenarioForSeed(seed);
  return withoutPutManyFlag ? withoutPutMany(scenario) : scenario;
};
const options: RunOptions = { trace: values.trace, bugs: bug?.bugs };

export function replayCommand(result: RunResult): string {
  const bugFlag = bug === undefined ? '' : ` --bug ${bug.name}`;
  return `node dist/test/simulation/long-run.js --scenario ${result.scenario} --seed ${result.seed}${bugFlag}${withoutPutManyFlag ? ' --without-put-many' : ''} --trace`;
}

function report(result: RunResult): void {
  for (const failure of result.failures) console.log(`FAILED seed=${result.seed} scenario=${result.scenario} ${failure.kind}: ${failure.message}`);
  console.log(`replay: ${replayCommand(result)}`);
}

if (values.seed !== undefined) {
  const seed = integer('seed', values.seed);
  const result = await runSeed(seed, scenarioOf(seed), options);
  if (values.trace) console.log(result.trace);
  console.log(`seed ${seed} scenario ${result.scenario}: ${JSON.stringify(result.stats)}`);
  if (result.transactions !== undefined) console.log(`transactions: ${JSON.stringify(result.transactions)}`);
  if (result.failures.length > 0) report(result);
  else console.log('all checks passed');
  process.exit(result.failures.length > 0 ? 1 : 0);
}

const from = integer('from', values.from);
const count = values.seeds === undefined ? Infinity : integer('seeds', values.seeds);
const deadlineMs = values.seconds === undefined ? Infinity : performance.now() + integer('seconds', values.seconds) * 1000;
if (count === Infinity && deadlineMs === Infinity) throw new Error('give --seeds, --seconds or --seed');
const startedMs = performance.now();
let ran = 0;
let failed = 0;
let lastReportMs = startedMs;
for (let seed = from; ran < count && performance.now() < deadlineMs; seed++, ran++) {
  const result = await runSeed(seed, scenarioOf(seed), options);
  if (result.failures.length > 0) {
    failed++;
    report(result);
  }
  if (performance.now() - lastReportMs > 10_000) {
    lastReportMs = performance.now();
    console.log(`... ${ran + 1} seeds (up to ${seed}), ${failed} failed`);
  }
}
const elapsedMs = performance.now() - startedMs;
console.log(`${ran} seeds from ${from} (${namedScenario?.name ?? 'scenario by seed'}${withoutPutManyFlag ? ' without putMany' : ''}${bug ? `, planted bug ${bug.name}` : ''}): ${failed} failed; ${((elapsedMs / Math.max(1, ran)) * 1000 / 1000).toFixed(1)} s per 1,000 seeds`);
process.exit(failed > 0 ? 1 : 0);
