/**
 * A real crash: a child process (helpers/crash-writer.ts) writes with a
 * durable setting, logging each operation before the call and each
 * acknowledgement after it, and is SIGKILLed mid-load (its node threads die
 * with it); then the test reads the directory back and checks that no
 * acknowledged write was lost. Who kills, per round:
 * - the test, once it has read a seeded number of acknowledgements: the kill
 *   lands wherever the writer happens to be;
 * - the writer itself, right after logging the seeded acknowledgement: no
 *   gap between an acknowledgement and the death, so a write acknowledged
 *   before it was safe has no time to become safe. (In a trial mutation
 *   where replicas acknowledged REPLICATE at receipt, before their commit,
 *   these rounds failed more often than the test-killed ones.)
 *
 * What is allowed (crash-log.ts, `allowedAfterCrash`): every key reads as its
 * last acknowledged operation left it (the value, or absent after a delete),
 * or as an operation begun after that one, which was in flight at the kill
 * and may or may not have landed. Never older: that would be a lost write.
 *
 * What is checked, per round:
 * - each replica on its own, straight from its LMDB environment before the
 *   store is reopened (so no read repair has touched it): a write
 *   acknowledged with W = 2 is promised on 2 of its 3 replicas, so at least
 *   2 must hold an allowed state; every replica holds only states the key
 *   really had (a lagging replica may show an older one); no replica holds
 *   a key outside its preference list or one the writer never wrote;
 * - through the reopened store, with R = 2 (R + W > N, so the quorum must see
 *   the last acknowledged write) and with R = 3: every key is allowed.
 *
 * A SIGKILL takes the process, not the machine: what reached the OS page
 * cache survives it whether or not it was fsynced. So these rounds check that
 * an acknowledgement comes only after the commit (true of 'sync', 'async'
 * and 'none' alike, as the README promises); they cannot check the fsync that 'sync'
 * adds for power loss.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import readline from 'node:readline';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import type { Durability, GetResult } from '../lib/index.js';
import { Prng, deriveSeed } from '../lib/prng.js';
import { hashKey32 } from '../lib/ring/hash.js';
import { preferenceList } from '../lib/ring/preference-list.js';
import { Ring, type RingJSON } from '../lib/ring/ring.js';
import { LmdbStorage } from '../lib/storage/lmdb-storage.js';
import { toGetResult } from '../lib/store/get-result.js';
import { decodeObject } from '../lib/version/object-codec.js';
import { ABSENT, CrashLog, digestOf, parseLine } from './helpers/crash-log.js';
import type { CrashWriterConfig } from './helpers/crash-writer.js';
import { openAt, tempDir } from './helpers/temp-store.js';

const WRITER = fileURLToPath(new URL('./helpers/crash-writer.js', import.meta.url));
const N = 3;
const W = 2;
/** The kill comes after a seeded number of acknowledgements in [min, min + spread). */
const KILL_ACKS_MIN = 300;
const KILL_ACKS_SPREAD = 600;
const LANES = 64;
/** Far more than any round reaches before its kill: a writer that logs `done` was never killed mid-load. */
const OPS_MAX = 1_000_000;
/** Short, so tombstones are purged during the load and puts land on purged keys too. */
const TOMBSTONE_GRACE_MS = 200;
/** A bound against a hung writer, not a timing assertion: the round fails if it is reached. */
const RUN_DEADLINE_MS = 120_000;
const STDERR_BYTES_MAX = 16 * 1024;
/** Failures listed per assertion: enough to debug, bounded for the report. */
const SHOWN_MAX = 10;

type Killer = 'test' | 'writer';

const ROUNDS: { seed: number; durability: Durability; killer: Killer }[] = [
  { seed: 1, durability: 'sync', killer: 'test' },
  { seed: 2, durability: 'sync', killer: 'writer' },
  { seed: 3, durability: 'sync', killer: 'writer' },
  { seed: 4, durability: 'async', killer: 'test' },
  // 'none' commits in the memory map (lmdb-storage.ts useWritemap): a process kill must keep those commits too.
  { seed: 5, durability: 'none', killer: 'writer' },
];

t.test('the crash model: what a key may read as after the kill', async (t) => {
  const log = new CrashLog();
  const begin = (op: number, kind: 'put' | 'overwrite' | 'delete' | 'putMany', writes: [string, string | null][]) => log.record({ t: 'begin', op, kind, writes });
  const ack = (op: number) => log.record({ t: 'ack', op });
  begin(0, 'put', [['a', 'A1']]);
  ack(0);
  begin(1, 'overwrite', [['a', 'A2']]); // in flight at the kill
  begin(2, 'put', [['b', 'B1']]);
  ack(2);
  begin(3, 'delete', [['b', null]]);
  ack(3);
  begin(4, 'put', [['c', 'C1']]);
  ack(4);
  begin(5, 'delete', [['c', null]]);
  ack(5);
  begin(6, 'overwrite', [['c', 'C2']]); // in flight
  begin(7, 'putMany', [['d', 'D1'], ['e', 'E1']]); // in flight
  begin(8, 'put', [['f', 'F1']]);
  ack(8);
  begin(9, 'overwrite', [['f', 'F2']]);
  ack(9);

  t.same([...log.allowedAfterCrash('a')], ['A1', 'A2'], 'acknowledged A1, A2 in flight: either');
  t.same([...log.allowedAfterCrash('b')], [ABSENT], 'an acknowledged delete: absent, the value before it is a lost write');
  t.same([...log.allowedAfterCrash('c')], [ABSENT, 'C2'], 'a delete acknowledged, a put in flight: absent or the put');
  t.same([...log.allowedAfterCrash('d')], [ABSENT, 'D1'], 'only in flight: absent or the value');
  t.same([...log.allowedAfterCrash('f')], ['F2'], 'overwritten and acknowledged: only the newer value');
  t.same([...log.everWritten('f')], [ABSENT, 'F1', 'F2'], 'a lagging replica may show any earlier state');
  t.same(['a', 'b', 'd', 'f'].map((key) => log.hasAckedWrite(key)), [true, true, false, true], 'which keys the crash must not lose');
  t.same([log.opsBegun, log.opsAcked, log.opsInFlight, log.writesAcked], [10, 7, 3, 7], 'counts');
  t.throws(() => begin(10, 'put', [['a', 'A3']]), /in flight/, 'two operations on one key at once break the model');
  t.throws(() => ack(1234), /never began/, 'an acknowledgement of nothing');
});

for (const round of ROUNDS) {
  t.test(`SIGKILL by the ${round.killer} mid-load: durability '${round.durability}', seed ${round.seed}`, (t) => crashRound(t, round.seed, round.durability, round.killer));
}

// ---------------------------------------------------------------- the round

interface WriterRun {
  log: CrashLog;
  /** Acks the test had read when it sent the kill; undefined if it sent none. */
  ackedAtKill: number | undefined;
  signal: NodeJS.Signals | null;
  code: number | null;
  deadlineReached: boolean;
  lineErrors: string[];
  stderr: string;
}

async function crashRound(t: Test, seed: number, durability: Durability, killer: Killer): Promise<void> {
  const path = tempDir(t);
  const killAfterAcks = KILL_ACKS_MIN + new Prng(deriveSeed(seed, 2)).nextBelow(KILL_ACKS_SPREAD);
  const config: CrashWriterConfig = {
    path,
    seed,
    durability,
    lanes: LANES,
    opsMax: OPS_MAX,
    tombstoneGraceMs: TOMBSTONE_GRACE_MS,
    killSelfAfterAcks: killer === 'writer' ? killAfterAcks : 0,
  };
  const run = await runWriterUntilKilled(t, config, killer === 'test' ? killAfterAcks : undefined);
  const log = run.log;

  const writerDiagnostics = { seed, code: run.code, stderr: run.stderr.split('\n').slice(-12).join('\n') };
  t.same(run.lineErrors, [], 'every log line parses and fits the model', writerDiagnostics);
  t.same(log.errors.slice(0, SHOWN_MAX), [], 'no operation failed before the kill', writerDiagnostics);
  t.ok(log.ready, 'the writer opened the store', writerDiagnostics);
  t.equal(run.deadlineReached, false, 'the kill came before the deadline', writerDiagnostics);
  t.equal(run.signal, 'SIGKILL', 'the writer died of the SIGKILL', writerDiagnostics);
  if (killer === 'test') t.ok(run.ackedAtKill !== undefined && run.ackedAtKill >= killAfterAcks, `killed once ${killAfterAcks} acknowledgements were read`);
  else t.equal(log.opsAcked, killAfterAcks, 'it killed itself right after logging the chosen acknowledgement: nothing logged after it');
  t.equal(log.done, false, 'it had not finished: the kill came mid-load');
  t.ok(log.opsInFlight > 0, `it was still writing: ${log.opsInFlight} operations began and were never acknowledged`);
  if (!log.ready || log.opsAcked === 0) return;

  const replicas = inspectReplicas(path, log);
  t.same(replicas.lost.slice(0, SHOWN_MAX), [], `every acknowledged key is on at least W=${W} of its ${N} replicas (${replicas.lost.length} not)`);
  t.same(replicas.invented.slice(0, SHOWN_MAX), [], `every replica holds only states its key really had (${replicas.invented.length} do not)`);
  t.same(replicas.stray, [], 'no key stored outside its preference list');
  t.same(replicas.unlogged, [], 'no replica holds a key the writer never wrote');
  await replicas.closed;

  const store = await openAt(t, path, { durability: 'sync', replication: { n: N, r: 2, w: W } });
  const keys = log.keys();
  for (const r of [2, 3]) {
    const results = await store.getMany(keys, { r });
    const wrong: string[] = [];
    for (let i = 0; i < keys.length; i++) {
      const allowed = log.allowedAfterCrash(keys[i]!);
      const found = stateOfResult(results[i]);
      if (!allowed.has(found)) wrong.push(`${keys[i]}: read ${found}, allowed ${[...allowed].join(' | ')}`);
    }
    t.same(wrong.slice(0, SHOWN_MAX), [], `R=${r}: all ${keys.length} keys read as their last acknowledged write or one in flight (${wrong.length} not)`);
  }

  const kinds = log.kindsAcked;
  t.comment(
    `seed ${seed}, '${durability}', killed by the ${killer} after ${killer === 'test' ? run.ackedAtKill : killAfterAcks} acks, ${log.opsInFlight} ops in flight at death; ` +
      `${log.opsAcked} ops acked (put ${kinds.put}, overwrite ${kinds.overwrite}, delete ${kinds.delete}, putMany ${kinds.putMany}) = ${log.writesAcked} key writes; ` +
      `${keys.length} keys checked, ${replicas.keysAcked} with an acknowledged write; ` +
      `replicas in an allowed state: 3 of 3 for ${replicas.current[3]}, 2 of 3 for ${replicas.current[2]} keys`,
  );
}

/**
 * Spawn the writer, read its log, SIGKILL it after `killAfterAcks`
 * acknowledgements (if given; else the writer kills itself), and wait for it
 * to be gone.
 */
async function runWriterUntilKilled(t: Test, config: CrashWriterConfig, killAfterAcks: number | undefined): Promise<WriterRun> {
  // Plain node on plain JavaScript: none of the runner's flags or loaders in the child.
  const { NODE_OPTIONS: _runnerOptions, ...env } = process.env;
  const child = spawn(process.execPath, [WRITER, JSON.stringify(config)], { stdio: ['pipe', 'ignore', 'pipe', 'pipe'], env });
  const exited = once(child, 'close') as Promise<[number | null, NodeJS.Signals | null]>;
  // If an assertion throws midway, no writer outlives the test (and its directory is removed after it is gone).
  t.teardown(async () => {
    kill(child);
    await exited;
  });

  const run: WriterRun = { log: new CrashLog(), ackedAtKill: undefined, signal: null, code: null, deadlineReached: false, lineErrors: [], stderr: '' };
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    run.stderr = (run.stderr + chunk).slice(-STDERR_BYTES_MAX);
  });
  const lines = readline.createInterface({ input: child.stdio[3] as Readable, crlfDelay: Infinity });
  lines.on('line', (text) => {
    try {
      run.log.record(parseLine(text));
    } catch (error) {
      if (run.lineErrors.length < SHOWN_MAX) run.lineErrors.push(String((error as Error).message));
    }
    if (killAfterAcks !== undefined && run.ackedAtKill === undefined && run.log.opsAcked >= killAfterAcks) {
      run.ackedAtKill = run.log.opsAcked;
      kill(child);
    }
  });
  const linesClosed = once(lines, 'close');
  const deadline = setTimeout(() => {
    run.deadlineReached = true;
    kill(child);
  }, RUN_DEADLINE_MS);
  const [code, signal] = await exited;
  await linesClosed;
  clearTimeout(deadline);
  run.code = code;
  run.signal = signal;
  return run;
}

function kill(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

// ---------------------------------------------------------------- reading back

function stateOfResult(result: GetResult | undefined): string {
  if (result === undefined) return ABSENT;
  const digests = result.siblings.map((value) => (value instanceof Uint8Array ? digestOf(value) : `(not bytes: ${typeof value})`));
  return digests.length === 1 ? digests[0]! : `(siblings: ${digests.join(', ')})`;
}

/** One replica's view of a key, decoded as a get with R = 1 from that replica would decode it. */
function stateOfStored(bytes: Uint8Array | undefined, nowMs: number): string {
  return stateOfResult(bytes === undefined ? undefined : toGetResult(decodeObject(bytes), nowMs, undefined));
}

interface ReplicaFindings {
  /** Keys with an acknowledged write on fewer than W replicas in an allowed state. */
  lost: string[];
  /** Replica states the key never had. */
  invented: string[];
  stray: string[];
  unlogged: string[];
  keysAcked: number;
  /** Keys with an acknowledged write, by how many of their replicas are in an allowed state. */
  current: number[];
  closed: Promise<unknown>;
}

/**
 * Read every node's LMDB environment directly, before anything reopens the
 * store: the replicas exactly as the crash left them.
 */
function inspectReplicas(path: string, log: CrashLog): ReplicaFindings {
  const ring = Ring.fromJSON(JSON.parse(readFileSync(join(path, 'ring.json'), 'utf8')) as RingJSON);
  const nodeIds = ring.nodeIds();
  const storages = new Map(nodeIds.map((nodeId) => [nodeId, new LmdbStorage({ path, nodeId, durability: 'sync' })]));
  const findings: ReplicaFindings = { lost: [], invented: [], stray: [], unlogged: [], keysAcked: 0, current: new Array<number>(N + 1).fill(0), closed: Promise.resolve() };
  const storedPerNode = new Map(nodeIds.map((nodeId) => [nodeId, 0]));
  const encoder = new TextEncoder();
  const nowMs = Date.now();
  for (const key of log.keys()) {
    const keyBytes = encoder.encode(key);
    const owners = preferenceList(ring, ring.partitionOf(hashKey32(keyBytes)), N);
    const allowed = log.allowedAfterCrash(key);
    const everWritten = log.everWritten(key);
    const states: string[] = [];
    for (const nodeId of nodeIds) {
      const bytes = storages.get(nodeId)!.get(keyBytes);
      if (bytes !== undefined) storedPerNode.set(nodeId, storedPerNode.get(nodeId)! + 1);
      if (!owners.includes(nodeId)) {
        if (bytes !== undefined) findings.stray.push(`${key} on node ${nodeId}, owners ${owners.join(',')}`);
        continue;
      }
      const state = stateOfStored(bytes, nowMs);
      states.push(state);
      if (!everWritten.has(state)) findings.invented.push(`${key} on node ${nodeId}: ${state}`);
    }
    if (!log.hasAckedWrite(key)) continue;
    findings.keysAcked++;
    const current = states.filter((state) => allowed.has(state)).length;
    findings.current[current]!++;
    if (current < W) findings.lost.push(`${key}: replicas ${owners.join(',')} hold ${states.join(' | ')}; allowed ${[...allowed].join(' | ')}`);
  }
  for (const [nodeId, storage] of storages) {
    const stored = storage.counts().keys;
    const found = storedPerNode.get(nodeId)!;
    if (stored !== found) findings.unlogged.push(`node ${nodeId} stores ${stored} keys, ${found} of them written by the writer`);
  }
  findings.closed = Promise.all([...storages.values()].map((storage) => storage.close()));
  return findings;
}
