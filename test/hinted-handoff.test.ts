/**
 * Hinted handoff (lib/store/hinted-handoff.ts, Dynamo §4.6) against a
 * scripted cluster, time passed in: a hint the owner refuses
 * (ERR_SIBLINGS_FULL) is kept, does not hold up the hints after it, is counted,
 * and is sent again only every REFUSED_RETRY_MS, not at every tick.
 */
import assert from 'node:assert';
import t from 'tap';
import { HintedHandoff, REFUSED_RETRY_MS } from '../lib/store/hinted-handoff.js';
import type { PendingReply } from '../lib/transport/node-link.js';
import { hintFieldOfTarget, nodeOfTarget } from '../lib/ring/sloppy-quorum.js';
import { Op, Status, encodeEntries } from '../lib/transport/wire.js';

const HOLDER = 0;
const OWNER = 1;
const TICK_MS = 100;

/** Node 0 holds hints for node 1 (keys h00, h01, ...); node 1 refuses to merge the keys in `refusing`. */
function scripted(keys: string[], refusing: Set<string>, keysPerSecond: number) {
  const held = new Map(keys.map((key) => [key, new Uint8Array([1])]));
  const merges = new Map<string, number>();
  const encoder = new TextEncoder();
  const text = (key: Uint8Array | string) => (typeof key === 'string' ? key : new TextDecoder().decode(key));
  const answer = (reply: PendingReply, target: number, status: number, payload: Uint8Array = new Uint8Array(0)) =>
    reply.onReply(target, status, payload, new DataView(payload.buffer, payload.byteOffset, payload.byteLength), 0, payload.byteLength, 0);
  const handoff = new HintedHandoff(
    {
      isUp: () => true,
      hintsHeld: (holder, owner) => (holder === HOLDER && owner === OWNER ? held.size : 0),
      nodeIds: () => [HOLDER, OWNER, 2],
      retiredIds: () => [],
      replicasOf: () => [OWNER, 2, HOLDER],
      send: (target, { op, key, value }, reply) => {
        const name = text(key);
        if (op === Op.HINTS) {
          assert.ok(nodeOfTarget(target) === HOLDER && hintFieldOfTarget(target) - 1 === OWNER, 'hints are paged from their stand-in, for their owner');
          const limit = new DataView(value!.buffer, value!.byteOffset).getUint32(0, true);
          const after = [...held.keys()].sort().filter((k) => k > name).slice(0, limit);
          return answer(reply, target, Status.OK, encodeEntries(after.map((k) => ({ key: encoder.encode(k), object: held.get(k)! }))));
        }
        if (op === Op.REPLICATE) {
          merges.set(name, (merges.get(name) ?? 0) + 1);
          const refused = encoder.encode('ERR_SIBLINGS_FULL: the key\'s versions would hold 256 clock entries');
          return refusing.has(name) ? answer(reply, target, Status.ERROR, refused) : answer(reply, target, Status.OK);
        }
        if (op === Op.HINT_DELIVERED) {
          held.delete(name);
          return answer(reply, target, Status.OK);
        }
        assert.fail(`unexpected op ${op}`);
      },
    },
    keysPerSecond,
  );
  return { handoff, held, merges };
}

const keysOf = (count: number) => Array.from({ length: count }, (_, i) => `h${String(i).padStart(2, '0')}`);

t.test('a refused hint is kept and counted; the hints after it are delivered in the same pass', async (t) => {
  const keys = keysOf(10);
  const { handoff, held, merges } = scripted(keys, new Set(['h00', 'h01']), 1000);
  handoff.tick(0);
  handoff.tick(TICK_MS); // the first tick fills the bucket
  t.same([...held.keys()], ['h00', 'h01'], 'the refused hints stay on the stand-in');
  t.equal(handoff.delivered, 8);
  t.equal(handoff.refused, 2, 'refusals counted');
  t.equal(handoff.active, 0, 'the pass ended');
  t.same(keys.map((key) => merges.get(key)), keys.map(() => 1), 'each hint sent to its owner once');
});

t.test('a refused hint is sent again after REFUSED_RETRY_MS, not at every tick, and goes once the owner takes it', async (t) => {
  const refusing = new Set(['h00']);
  const { handoff, held, merges } = scripted(keysOf(3), refusing, 1000);
  handoff.tick(0);
  let nowMs = TICK_MS;
  handoff.tick(nowMs);
  t.equal(merges.get('h00'), 1);
  const passEndedMs = nowMs;
  for (; nowMs < passEndedMs + REFUSED_RETRY_MS - TICK_MS; nowMs += TICK_MS) handoff.tick(nowMs + TICK_MS);
  t.equal(merges.get('h00'), 1, `no resend within ${REFUSED_RETRY_MS} ms (${(REFUSED_RETRY_MS / TICK_MS) - 1} ticks)`);
  handoff.tick(passEndedMs + REFUSED_RETRY_MS);
  t.equal(merges.get('h00'), 2, 'sent again once the wait passed');
  t.equal(handoff.refused, 2);
  refusing.clear(); // the user resolved the key's siblings
  handoff.tick(passEndedMs + 2 * REFUSED_RETRY_MS);
  t.same([...held.keys()], [], 'delivered, and dropped from the stand-in');
  t.equal(handoff.refused, 2);
});

t.test('refused hints that take a tick\'s whole budget do not hold up the others: the pass resumes where it stopped', async (t) => {
  const keys = keysOf(12);
  // 40 keys per second at one tick per 100 ms: 4 hints per tick. The first 4 are refused.
  const { handoff, held } = scripted(keys, new Set(keys.slice(0, 4)), 40);
  handoff.tick(0);
  for (let nowMs = TICK_MS; nowMs <= 10 * TICK_MS; nowMs += TICK_MS) handoff.tick(nowMs);
  t.same([...held.keys()], keys.slice(0, 4), 'every hint but the refused ones delivered within ten ticks');
  t.equal(handoff.refused, 4, 'each refused once in that time');
});
