/**
 * How long a macrotask reads gets in place (lib/store/read-turn.ts), against
 * a clock and node links the test sets, and in a real store: chained gets
 * (each answer starts the next, as a YCSB client does) still let the event
 * loop turn, and a timer set before them runs before they end.
 * - every turn serves READS_IN_PLACE_PER_TURN reads;
 * - past them, it goes on while no node answer is awaited and the clock says
 *   less than READ_TURN_MS since its first read, looked at every
 *   CLOCK_EVERY_READS reads, and never past READS_IN_PLACE_PER_TURN_MAX;
 * - a new turn starts afresh.
 */
import t from 'tap';
import { CLOCK_EVERY_READS, READS_IN_PLACE_PER_TURN, READS_IN_PLACE_PER_TURN_MAX, READ_TURN_MS, ReadTurn } from '../lib/store/read-turn.js';
import { openTemp } from './helpers/temp-store.js';

/** A ReadTurn over a clock and an "answers awaited" flag the test moves; `clockReads` counts the looks at the clock. */
function turnOf(): { turn: ReadTurn; world: { nowMs: number; awaited: boolean; clockReads: number } } {
  const world = { nowMs: 1_000, awaited: false, clockReads: 0 };
  const clockMs = (): number => {
    world.clockReads++;
    return world.nowMs;
  };
  return { turn: new ReadTurn(clockMs, () => world.awaited), world };
}

/** Serve reads while the turn has any left, advancing the clock `msPerRead` each; returns how many it served. */
function readAll(turn: ReadTurn, world: { nowMs: number }, msPerRead: number, limit = 1_000_000): number {
  let reads = 0;
  while (reads < limit && turn.hasLeft(1)) {
    turn.served();
    world.nowMs += msPerRead;
    reads++;
  }
  return reads;
}

t.test('a turn serves READS_IN_PLACE_PER_TURN reads, however slow, and stops there while a node answer is awaited', async (t) => {
  const { turn, world } = turnOf();
  world.awaited = true;
  turn.reset();
  turn.begin();
  t.equal(readAll(turn, world, 0), READS_IN_PLACE_PER_TURN, 'no more with an answer awaited, even with no time passed');
  t.notOk(turn.hasLeft(1), 'the turn is over');
  const slow = turnOf();
  slow.turn.reset();
  slow.turn.begin();
  t.equal(readAll(slow.turn, slow.world, 1), READS_IN_PLACE_PER_TURN, 'reads of 1 ms each: READ_TURN_MS long passed, still the first bound is served');
});

t.test('past READS_IN_PLACE_PER_TURN, a turn goes on until READ_TURN_MS passed, by the clock read every CLOCK_EVERY_READS reads', async (t) => {
  const { turn, world } = turnOf();
  turn.reset();
  turn.begin();
  const msPerRead = 0.004;
  const reads = readAll(turn, world, msPerRead);
  const expected = Math.ceil(READ_TURN_MS / msPerRead / CLOCK_EVERY_READS) * CLOCK_EVERY_READS;
  t.ok(reads > READS_IN_PLACE_PER_TURN && reads < READS_IN_PLACE_PER_TURN_MAX, `reads ${reads} between the two bounds`);
  t.ok(Math.abs(reads - expected) <= CLOCK_EVERY_READS, `reads ${reads}: about ${READ_TURN_MS} ms of them (${expected})`);
  t.ok(world.clockReads <= 1 + Math.ceil(reads / CLOCK_EVERY_READS), `the clock read ${world.clockReads} times for ${reads} reads`);
  t.notOk(turn.hasLeft(1), 'the turn is over');
  turn.reset();
  t.ok(turn.hasLeft(1), 'a new turn reads again');
  turn.begin();
  t.equal(readAll(turn, world, 0, READS_IN_PLACE_PER_TURN + 100), READS_IN_PLACE_PER_TURN + 100, 'and counts from nothing');
});

t.test('an answer awaited past READS_IN_PLACE_PER_TURN ends the turn at the next look', async (t) => {
  const { turn, world } = turnOf();
  turn.reset();
  turn.begin();
  t.equal(readAll(turn, world, 0, 1_000), 1_000, 'no time passes, nothing awaited: reads go on');
  world.awaited = true;
  const more = readAll(turn, world, 0);
  t.ok(more >= 1 && more <= CLOCK_EVERY_READS, `${more} more reads, up to the next look`);
});

t.test('a clock that never moves still ends a turn at READS_IN_PLACE_PER_TURN_MAX', async (t) => {
  const { turn, world } = turnOf();
  turn.reset();
  turn.begin();
  t.equal(readAll(turn, world, 0), READS_IN_PLACE_PER_TURN_MAX);
  turn.reset();
  turn.begin();
  readAll(turn, world, 0, READS_IN_PLACE_PER_TURN_MAX - 1);
  t.notOk(turn.hasLeft(2), 'a get of two reads that would pass the bound waits');
  t.ok(turn.hasLeft(1), 'one read still fits');
});

t.test('chained gets read in place let the event loop turn: a timer set before them runs before they end', async (t) => {
  const store = await openTemp(t, { nodes: 4, replication: { n: 3, r: 1, w: 3 }, failureTimeoutMs: 30_000 });
  const keys = Array.from({ length: 200 }, (_, i) => `chain:${i}`);
  await store.putMany(keys.map((key, i) => [key, i] as const));
  const chains = 64;
  const getsPerChain = Math.ceil((READS_IN_PLACE_PER_TURN_MAX * 3) / chains);
  let answered = 0;
  let answeredAtImmediate = -1;
  let answeredAtTimer = -1;
  const inPlaceBefore = store.stats().readsInPlace;
  // Both set before any get: each runs in the first turn that lets the event loop go on.
  setImmediate(() => (answeredAtImmediate = answered));
  setTimeout(() => (answeredAtTimer = answered), 0);
  const chain = async (start: number): Promise<number> => {
    let wrong = 0;
    for (let i = 0; i < getsPerChain; i++) {
      const at = (start + i) % keys.length;
      const read = await store.get(keys[at]!);
      if (read?.value !== at) wrong++;
      answered++;
    }
    return wrong;
  };
  const wrong = await Promise.all(Array.from({ length: chains }, (_, c) => chain(c * 3)));
  const total = chains * getsPerChain;
  t.same(wrong, new Array<number>(chains).fill(0), `${total} chained gets answered their own keys`);
  t.equal(store.stats().readsInPlace - inPlaceBefore, total, 'every one read in place');
  t.ok(answeredAtImmediate >= 0 && answeredAtImmediate <= READS_IN_PLACE_PER_TURN_MAX, `the immediate ran after ${answeredAtImmediate} of ${total} gets`);
  t.ok(answeredAtTimer >= 0 && answeredAtTimer < total, `the timer ran after ${answeredAtTimer} of ${total} gets`);
});
