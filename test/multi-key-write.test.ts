/**
 * The engine's atomic multi-key ordered write (writeOrdered's `also`, wire.ts
 * OrderedFlag.ALSO) against real storage-node workers and LMDB: every key of
 * one write is written in one transaction on each replica, so a failed
 * compare-and-set writes none of them, a version-suffixed key carries the
 * write's version, and the keys survive the leader's crash together.
 */
import t from 'tap';
import { ErrorCode, partitionedKey } from '../lib/index.js';
import { failsWith, openTemp } from './helpers/temp-store.js';

const text = new TextEncoder();
const keyOf = (space: number, part: string, rest: string) => partitionedKey(space, text.encode(part), text.encode(rest));
const prefixEnd = (prefix: Uint8Array) => {
  const end = new Uint8Array(prefix.byteLength + 1);
  end.set(prefix);
  end[prefix.byteLength] = 0xff;
  return end;
};

t.test('a multi-key write: every key at once, a version-suffixed log key, none on a failed compare-and-set', async (t) => {
  const store = await openTemp(t, { nodes: 4 });
  const key = keyOf(1, 'p', 'item');
  const side = keyOf(2, 'p', 'side');
  const logPrefix = keyOf(3, 'p', 'log#');
  const written = await store.writeOrdered({ key, value: 'v1', expect: 'absent', also: [{ key: side, value: 's1' }, { key: logPrefix, value: { change: 1 }, appendVersion: true }] });
  t.equal((await store.getOrdered(side, { consistent: true }))?.value, 's1', 'the also key is written');
  const log = await store.range({ start: logPrefix, end: prefixEnd(logPrefix), consistent: true });
  t.equal(log.entries.length, 1, 'one log record');
  const suffix = log.entries[0]!.key.subarray(logPrefix.byteLength);
  t.equal(suffix.byteLength, 8, 'the log key ends in 8 bytes');
  t.equal(new DataView(suffix.buffer, suffix.byteOffset, 8).getBigUint64(0).toString(), written.version, "they are the write's version, big-endian");

  const refused = await store.writeOrdered({ key, value: 'v2', expect: 'absent', also: [{ key: side, value: 's2' }, { key: logPrefix, value: { change: 2 }, appendVersion: true }] }).then(() => 'ok', (error: { code?: string }) => error.code);
  t.equal(refused, ErrorCode.CONFLICT, 'the compare-and-set fails');
  t.equal((await store.getOrdered(side, { consistent: true }))?.value, 's1', 'and no also key changed');
  t.equal((await store.range({ start: logPrefix, end: prefixEnd(logPrefix), consistent: true })).entries.length, 1, 'no second log record');

  const second = await store.writeOrdered({ key, value: 'v2', expect: written.version, also: [{ key: side }, { key: logPrefix, value: { change: 2 }, appendVersion: true }] });
  t.equal(await store.getOrdered(side, { consistent: true }), undefined, 'an also key without a value is deleted');
  const records = (await store.range({ start: logPrefix, end: prefixEnd(logPrefix), consistent: true })).entries.map((entry) => entry.value);
  t.same(records, [{ change: 1 }, { change: 2 }], 'log keys sort in version order');
  t.not(second.version, written.version);

  await failsWith(t, () => store.writeOrdered({ key, value: 'x', also: [{ key: keyOf(2, 'other partition', 'x'), value: 1 }] }), ErrorCode.INVALID_OPTIONS, "an also key with another token");
  await failsWith(t, () => store.writeOrdered({ key: 'plain', value: 'x', also: [{ key: side, value: 1 }] }), ErrorCode.INVALID_OPTIONS, 'a plain first key');
  await failsWith(t, () => store.writeOrdered({ key, value: 'x', also: Array.from({ length: 65 }, (_, i) => ({ key: keyOf(2, 'p', `k${i}`), value: i })) }), ErrorCode.INVALID_OPTIONS, 'more than 64 also keys');
});

t.test("a multi-key write's keys survive its leader's crash together", async (t) => {
  const store = await openTemp(t, { nodes: 4 });
  const writes = 40;
  for (let i = 0; i < writes; i++) {
    const key = keyOf(1, `p${i}`, 'item');
    await store.writeOrdered({ key, value: i, also: [{ key: keyOf(2, `p${i}`, 'index'), value: i }, { key: keyOf(3, `p${i}`, ''), value: i, appendVersion: true }] });
  }
  const leader = store.preferenceList(keyOf(1, 'p0', 'item'))[0]!;
  await store.crashNode(leader);
  for (let i = 0; i < writes; i++) {
    const item = await store.getOrdered(keyOf(1, `p${i}`, 'item'), { consistent: true });
    const side = await store.getOrdered(keyOf(2, `p${i}`, 'index'), { consistent: true });
    const prefix = keyOf(3, `p${i}`, '');
    const log = await store.range({ start: prefix, end: prefixEnd(prefix), consistent: true });
    if (item?.value !== i || side?.value !== i || log.entries.length !== 1) {
      t.fail(`key p${i}: item ${String(item?.value)}, side ${String(side?.value)}, ${log.entries.length} log records`);
      return;
    }
  }
  t.pass(`all ${writes} writes' three keys are read back from the new leaders`);
});
