/**
 * Read repairs that a put in flight covers (lib/store/replicates-in-flight.ts):
 * a put answers at W while its REPLICATE to another replica is on its way;
 * a read in place meanwhile finds that replica behind and would repair it
 * with the same bytes. The coordinator leaves such a repair out, and only
 * such a repair: another key, other bytes, a replica that already answered,
 * or a put that settled are repaired as before. Pure registry tests, then the
 * real Coordinator over a host whose nodes are in-memory maps and whose
 * REPLICATE to one replica is held back.
 */
import t from 'tap';
import { Coordinator, NOT_IN_PLACE } from '../lib/store/coordinator.js';
import type { CoordinatorHost } from '../lib/store/coordinator-host.js';
import type { GetResult } from '../lib/store/get-result.js';
import { type ReplicatingPut, ReplicatesInFlight } from '../lib/store/replicates-in-flight.js';
import { encodeValue } from '../lib/store/value-codec.js';
import { Ring } from '../lib/ring/ring.js';
import { hashKey32 } from '../lib/ring/hash.js';
import type { PendingReply } from '../lib/transport/node-link.js';
import { Op, type RequestRecord, Status, type WireKey } from '../lib/transport/wire.js';
import { encodeObject } from '../lib/version/object-codec.js';

function put(key: WireKey, objectBytes: Uint8Array | undefined, awaiting: number[]): ReplicatingPut {
  return { key, objectBytes, awaitsReplica: (target) => awaiting.includes(target) };
}

t.test('the registry: covered only by a put of the same key sending the same bytes to a replica that has not answered', async (t) => {
  const inFlight = new ReplicatesInFlight();
  const bytes = Uint8Array.of(1, 2, 3);
  const first = put('k', bytes, [2]);
  inFlight.add(hashKey32('k'), first);
  inFlight.add(hashKey32('k'), first);
  t.ok(inFlight.covers(hashKey32('k'), 'k', 2, Uint8Array.of(1, 2, 3)), 'same key, equal bytes (another copy), awaited replica');
  t.notOk(inFlight.covers(hashKey32('k'), 'k', 1, bytes), 'a replica the put does not await');
  t.notOk(inFlight.covers(hashKey32('k'), 'k', 2, Uint8Array.of(1, 2, 4)), 'other bytes');
  t.notOk(inFlight.covers(hashKey32('k'), 'k', 2, Uint8Array.of(1, 2)), 'a prefix of the bytes');
  t.notOk(inFlight.covers(hashKey32('k'), 'other', 2, bytes), 'another key under the same hash');
  t.notOk(inFlight.covers(hashKey32('k'), Buffer.from('k'), 2, bytes), "the key's bytes against its string: not covered (a repair too many, never one too few)");
  const byBytes = put(Uint8Array.of(9, 9), bytes, [1]);
  inFlight.add(hashKey32(Uint8Array.of(9, 9)), byBytes);
  t.ok(inFlight.covers(hashKey32(Uint8Array.of(9, 9)), Uint8Array.of(9, 9), 1, bytes), 'a bytes key by its bytes');
  t.notOk(inFlight.covers(hashKey32('k'), 'k', 2, Uint8Array.of()), 'empty bytes');
  const notAnswered = put('k', undefined, [2]);
  inFlight.add(hashKey32('k'), notAnswered);
  inFlight.remove(hashKey32('k'), first);
  t.notOk(inFlight.covers(hashKey32('k'), 'k', 2, bytes), 'once removed, and a put with no object yet covers nothing');
  inFlight.remove(hashKey32('k'), notAnswered);
  inFlight.remove(hashKey32(Uint8Array.of(9, 9)), byBytes);
  inFlight.remove(hashKey32('k'), notAnswered);
  t.equal(inFlight.size, 0, 'nothing left behind');
});

const OPTIONS = { n: 3, sloppy: true, readFanout: 'quorum' as const, timeoutMs: 60_000, pendingMax: 100, pendingBytesMax: 1 << 20, tombstoneGraceMs: 10, resolve: undefined, handoffKeysPerSecond: 100, readPath: 'direct' as const, writeEnvelopes: false };

function objectOf(value: string, counter: number): Uint8Array {
  const timestampMs = 1_700_000_000_000 + counter;
  return encodeObject({ entries: [{ actor: 5, counter, timestampMs, siblings: [{ value: encodeValue(value, 1024), timestampMs, expiresAtMs: 0, tombstone: false }] }] });
}

/**
 * Nodes as maps of key -> object bytes. A PUT stores `next` on its node and
 * answers it (as a coordinating node answers its new object); a REPLICATE is
 * stored and acknowledged, unless its node is `held`: then it waits in
 * `heldBack` until released. Every request sent is logged.
 */
function world(next: Uint8Array) {
  const stores = new Map<number, Map<string, Uint8Array>>([0, 1, 2, 3].map((node) => [node, new Map()]));
  const sent: { target: number; op: number }[] = [];
  const heldBack: (() => void)[] = [];
  const held = new Set<number>();
  const keyOf = (key: WireKey) => (typeof key === 'string' ? key : Buffer.from(key).toString('latin1'));
  const reply = (pending: PendingReply, target: number, status: number, bytes: Uint8Array, tag: number) =>
    pending.onReply(target, status, bytes, new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), 0, bytes.byteLength, tag);
  const host: CoordinatorHost = {
    wallClockMs: () => 1_700_000_100_000,
    monotonicMs: () => performance.now(),
    setTimer: (delayMs, run) => setTimeout(run, delayMs),
    clearTimer: (timer) => clearTimeout(timer as NodeJS.Timeout),
    sleep: (delayMs) => new Promise((resolve) => setTimeout(resolve, delayMs)),
    scheduleFlush: (flush) => queueMicrotask(flush),
    send: (target: number, request: RequestRecord, pending: PendingReply, tag: number) => {
      sent.push({ target, op: request.op });
      const apply = () => {
        if (request.op === Op.PUT) {
          stores.get(target)!.set(keyOf(request.key), next);
          reply(pending, target, Status.OK, next, tag);
        } else if (request.op === Op.REPLICATE) {
          stores.get(target)!.set(keyOf(request.key), request.value!.slice());
          reply(pending, target, Status.OK, new Uint8Array(0), tag);
        }
      };
      if (request.op === Op.REPLICATE && held.has(target)) heldBack.push(apply);
      else queueMicrotask(apply);
    },
    readInPlace: (target, key, pending, tag) => {
      const stored = stores.get(target)!.get(keyOf(key));
      reply(pending, target, stored === undefined ? Status.NOT_FOUND : Status.OK, stored ?? new Uint8Array(0), tag);
      return true;
    },
    inPlaceTurnLeft: () => true,
    isDown: () => false,
    isUp: () => true,
    hintsHeld: () => 0,
    hintsOwedTo: () => 0,
    retiredIds: () => [],
  };
  return { host, stores, sent, heldBack, held };
}

t.test("a read in place leaves out the repair a put's REPLICATE in flight covers, and only that one", async (t) => {
  const older = objectOf('old', 1);
  const newer = objectOf('new', 2);
  const w = world(newer);
  const coordinator = new Coordinator(OPTIONS, Ring.create([0, 1, 2, 3], 8), w.host);
  const key = 'k';
  const [a, b, c] = [...coordinator.preferenceListOf(key)] as [number, number, number];
  for (const node of [a, b, c]) w.stores.get(node)!.set(key, older);
  w.held.add(b);

  // The put answers at W = 2 (its coordinating node and c); its REPLICATE to b waits.
  await new Promise<void>((resolve, reject) => coordinator.startPut({ op: Op.PUT, flags: 0, key, context: undefined, value: encodeValue('new', 1024), timestampMs: 0, expiresAtMs: 0 }, 2, (error) => (error ? reject(error) : resolve()), 0));
  t.equal(w.heldBack.length, 1, "the put answered with its REPLICATE to the second replica still on its way");

  const repairsSent = () => w.sent.filter((s) => s.op === Op.REPLICATE).length;
  const before = repairsSent();
  const read = coordinator.getInPlace(key, false, 2);
  t.not(read, NOT_IN_PLACE, 'answered in place');
  t.equal((read as GetResult).value, 'new', 'with the newer record');
  t.equal(repairsSent(), before, 'no repair sent: the REPLICATE in flight carries the same object');
  t.equal(coordinator.stats().readRepairsCovered, 1, 'counted as covered');
  t.equal(coordinator.stats().readRepairs, 0, 'not as a repair');

  // Another coordinator's write (other bytes) on the first replica: the repair is not covered.
  const other = objectOf('other', 3);
  w.stores.get(a)!.set(key, other);
  w.stores.get(c)!.set(key, other);
  coordinator.getInPlace(key, false, 2);
  t.equal(coordinator.stats().readRepairs, 1, 'a repair with other bytes is sent');
  t.equal(repairsSent(), before + 1, 'as a REPLICATE to the replica behind');

  // The held REPLICATE lands: the put settles and covers nothing more.
  w.stores.get(a)!.set(key, newer);
  w.stores.get(c)!.set(key, newer);
  w.held.clear();
  for (const apply of w.heldBack.splice(0)) apply();
  w.stores.get(b)!.set(key, older); // behind again, with no put in flight
  coordinator.getInPlace(key, false, 2);
  t.equal(coordinator.stats().readRepairs, 2, 'once the put settled, a replica behind is repaired again');
  t.equal(coordinator.stats().readRepairsCovered, 1, 'and nothing more counted as covered');
  t.equal(registryOf(coordinator).size, 0, 'the settled put left the registry');
});

t.test('a put whose REPLICATE never comes back leaves the registry when it expires', async (t) => {
  const newer = objectOf('new', 2);
  const w = world(newer);
  const coordinator = new Coordinator({ ...OPTIONS, timeoutMs: 40 }, Ring.create([0, 1, 2, 3], 8), w.host);
  const key = 'lost';
  w.held.add(coordinator.preferenceListOf(key)[1]!);
  await new Promise<void>((resolve, reject) => coordinator.startPut({ op: Op.PUT, flags: 0, key, context: undefined, value: encodeValue('new', 1024), timestampMs: 0, expiresAtMs: 0 }, 2, (error) => (error ? reject(error) : resolve()), 0));
  t.equal(registryOf(coordinator).size, 1, 'registered while its REPLICATE is out');
  const deadline = performance.now() + 5000;
  while (coordinator.stats().timeouts === 0 && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  t.equal(coordinator.stats().timeouts, 1, 'the put expired');
  t.equal(registryOf(coordinator).size, 0, 'and left the registry');
});

/** The coordinator's registry (private: what it holds is not part of any surface). */
function registryOf(coordinator: Coordinator): ReplicatesInFlight {
  return (coordinator as unknown as { replicating: ReplicatesInFlight }).replicating;
}
