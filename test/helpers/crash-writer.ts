/**
 * The child process of test/crash-durability.test.ts: opens a Store and
 * writes until it is killed, logging every operation to fd 3 before it is
 * called and again once it is acknowledged (format: crash-log.ts). Not a
 * *.test.ts: tap does not run it; the test spawns it as plain JavaScript.
 *
 *   node dist/test/helpers/crash-writer.js '{"path":...,"seed":1,"durability":"sync",...}'
 *
 * The load: `lanes` operations in flight at all times, each a fresh put, an
 * overwrite or a delete of an earlier key, or a putMany mixing both. Never
 * two operations on one key at once, so every key's history is a sequence
 * (crash-log.ts checks it). The seed fixes the mix and the values; which
 * lane finishes first, and so the exact interleaving, is up to the threads.
 */
import { writeSync } from 'node:fs';
import { Store, type Durability, type PutManyEntry } from '../../lib/index.js';
import { Prng, deriveSeed } from '../../lib/prng.js';
import { type LogLine, type LoggedWrite, type OpKind, digestOf, encodeLine } from './crash-log.js';

export interface CrashWriterConfig {
  path: string;
  seed: number;
  durability: Durability;
  /** Operations kept in flight. */
  lanes: number;
  /** A bound on the run if no kill comes: the writer then logs `done` and exits. */
  opsMax: number;
  tombstoneGraceMs: number;
  /**
   * SIGKILL ourselves right after logging this many acknowledgements (0: wait
   * for the test's kill). No gap between the last acknowledgement and the
   * death, so a write acknowledged a moment before it was safe is caught.
   */
  killSelfAfterAcks: number;
}

/** The pipe the test reads; stdout and stderr stay free for diagnostics. */
const LOG_FD = 3;
const PUT_MANY_ENTRIES_MAX = 24;
const VALUE_BYTES_MIN = 16;
const VALUE_BYTES_SPREAD = 240;

const config = JSON.parse(process.argv[2] ?? '') as CrashWriterConfig;

function log(line: LogLine): void {
  // Synchronous, on a blocking pipe: once this returns the line is the
  // kernel's, and survives our SIGKILL. The test counts only what it reads.
  writeSync(LOG_FD, encodeLine(line));
}

// If the test process dies, our stdin closes: go too rather than write on as an orphan.
process.stdin.on('end', () => process.exit(3));
process.stdin.resume();

const choices = new Prng(deriveSeed(config.seed, 0));
const values = new Prng(deriveSeed(config.seed, 1));
/** Every key begun so far, for overwrites and deletes to pick from. */
const keys: string[] = [];
const busy = new Set<string>();
let nextOp = 0;
let nextValue = 0;
let acked = 0;

/** Distinct bytes per value (its number first), so an older value is never mistaken for a newer one. */
function nextValueBytes(): Uint8Array {
  const bytes = values.fill(new Uint8Array(VALUE_BYTES_MIN + values.nextBelow(VALUE_BYTES_SPREAD)));
  new DataView(bytes.buffer).setUint32(0, nextValue++, true);
  return bytes;
}

function freshKey(): string {
  const key = `k${keys.length}`;
  keys.push(key);
  return key;
}

/** An earlier key with nothing in flight, or undefined if the draw hits a busy one. */
function earlierKey(): string | undefined {
  if (keys.length === 0) return undefined;
  const key = keys[choices.nextBelow(keys.length)]!;
  return busy.has(key) ? undefined : key;
}

interface PlannedOp {
  kind: OpKind;
  writes: [key: string, value: Uint8Array | null][];
}

/** 60% fresh puts, 20% overwrites, 12% deletes, 8% putMany batches (half fresh keys, half overwrites). */
function planOp(): PlannedOp {
  const draw = choices.nextBelow(100);
  if (draw < 8) {
    const writes: PlannedOp['writes'] = [];
    const batchKeys = new Set<string>();
    const count = 2 + choices.nextBelow(PUT_MANY_ENTRIES_MAX - 1);
    for (let i = 0; i < count; i++) {
      const key = (choices.nextBelow(2) === 0 ? earlierKey() : undefined) ?? freshKey();
      if (batchKeys.has(key)) continue;
      batchKeys.add(key);
      writes.push([key, nextValueBytes()]);
    }
    return { kind: 'putMany', writes };
  }
  if (draw < 40) {
    const key = earlierKey();
    if (key !== undefined) return draw < 20 ? { kind: 'delete', writes: [[key, null]] } : { kind: 'overwrite', writes: [[key, nextValueBytes()]] };
  }
  return { kind: 'put', writes: [[freshKey(), nextValueBytes()]] };
}

async function runOp(store: Store, op: number, planned: PlannedOp): Promise<void> {
  const logged: LoggedWrite[] = planned.writes.map(([key, value]) => [key, value === null ? null : digestOf(value)]);
  for (const [key] of planned.writes) busy.add(key);
  log({ t: 'begin', op, kind: planned.kind, writes: logged });
  try {
    if (planned.kind === 'putMany') {
      await store.putMany(planned.writes.map(([key, value]): PutManyEntry => [key, value]));
    } else {
      const [key, value] = planned.writes[0]!;
      if (value === null) await store.delete(key);
      else await store.put(key, value);
    }
  } catch (error) {
    log({ t: 'error', op, message: String((error as Error)?.stack ?? error) });
    process.exit(1);
  }
  log({ t: 'ack', op });
  if (++acked === config.killSelfAfterAcks) process.kill(process.pid, 'SIGKILL');
  for (const [key] of planned.writes) busy.delete(key);
}

async function lane(store: Store): Promise<void> {
  while (nextOp < config.opsMax) {
    const op = nextOp++;
    await runOp(store, op, planOp());
  }
}

const store = await Store.open({
  path: config.path,
  nodes: 4,
  durability: config.durability,
  replication: { n: 3, r: 2, w: 2 },
  tombstoneGraceMs: config.tombstoneGraceMs,
});
log({ t: 'ready' });
await Promise.all(Array.from({ length: config.lanes }, () => lane(store)));
log({ t: 'done' });
await store.close();
process.exit(0);
