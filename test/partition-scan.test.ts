/**
 * A partition scan (Op.PARTITION_SCAN: range moves, ownership handoff, a new
 * leader's catch-up) seeks over the partitioned keys of partitions it does not
 * want (lib/ring/partition-selection.ts). Checked here: paging through a scan
 * of real LMDB, and of the simulation's memory storage, returns exactly the
 * keys a linear filter by partition returns, for random mixes of plain and
 * partitioned keys, selections, page sizes and examine bounds; and a scan of
 * one partition among many examines about that partition's keys, not the
 * store's.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import fc from 'fast-check';
import { LmdbStorage } from '../lib/storage/lmdb-storage.js';
import type { StorageEngine } from '../lib/storage/storage-engine.js';
import { MemoryStorage } from './simulation/memory-storage.js';
import { encodePartitionedKey, SPACE_MAX } from '../lib/ring/partitioned-key.js';
import { hashKey32 } from '../lib/ring/hash.js';
import { partitionOfKey, selectsKey, skipTarget, type PartitionSelection } from '../lib/ring/partition-selection.js';

const enc = new TextEncoder();
const hex = (key: Uint8Array) => Buffer.from(key).toString('hex');

function selectionOf(partitionBits: number, partitions: Iterable<number>): PartitionSelection {
  const bitmap = new Uint8Array(Math.ceil(2 ** partitionBits / 8));
  for (const partition of partitions) bitmap[partition >>> 3]! |= 1 << (partition & 7);
  return { partitionBits, bitmap };
}

/** Every key a scan returns, paging from the start as the replicas' callers do. */
function scanAll(storage: StorageEngine, selection: PartitionSelection, limit: number, examineMax: number): { keys: string[]; pages: number } {
  const keys: string[] = [];
  let after: Uint8Array = new Uint8Array(0);
  for (let pages = 1; ; pages++) {
    const page = storage.scan(after, selection, limit, examineMax);
    for (const entry of page.entries) keys.push(hex(entry.key));
    if (page.next === undefined) return { keys, pages };
    if (pages > 100_000) throw new Error('scan does not progress');
    after = page.next;
  }
}

const keyArbitrary = fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 12 }).filter((bytes) => bytes[0] !== 0xff),
  fc.record({
    space: fc.oneof(fc.constantFrom(0, 1, 2, SPACE_MAX), fc.integer({ min: 0, max: SPACE_MAX })),
    part: fc.uint8Array({ minLength: 1, maxLength: 6 }),
    rest: fc.uint8Array({ maxLength: 4 }),
  }).map(({ space, part, rest }) => encodePartitionedKey(hashKey32, space, part, rest)),
);

t.test('skipTarget: always past the key, and no wanted key lies between them', async (t) => {
  fc.assert(
    fc.property(keyArbitrary, keyArbitrary, fc.integer({ min: 1, max: 10 }), fc.array(fc.nat(1023), { maxLength: 8 }), (key, other, partitionBits, wanted) => {
      const selection = selectionOf(partitionBits, wanted.map((partition) => partition % 2 ** partitionBits));
      if (key[0] !== 0xff || selectsKey(selection, key)) return;
      const target = skipTarget(selection, key);
      if (target !== undefined) t.ok(Buffer.compare(target, key) > 0);
      // A wanted key is never jumped over: it is at or after the target.
      if (selectsKey(selection, other) && Buffer.compare(other, key) > 0) t.ok(target !== undefined && Buffer.compare(other, target) >= 0, 'a wanted key is not skipped');
    }),
    { numRuns: 3000 },
  );
});

t.test('a scan with seeks returns what a linear filter returns, on LMDB and in memory', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ringtable-partition-scan-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  let run = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.uniqueArray(keyArbitrary, { minLength: 0, maxLength: 120, selector: hex }),
      fc.integer({ min: 1, max: 8 }),
      fc.array(fc.nat(255), { maxLength: 6 }),
      fc.integer({ min: 1, max: 20 }),
      fc.integer({ min: 1, max: 30 }),
      async (keys, partitionBits, wanted, limit, examineMax) => {
        const selection = selectionOf(partitionBits, wanted.map((partition) => partition % 2 ** partitionBits));
        const lmdb = new LmdbStorage({ path: join(dir, String(run++)), nodeId: 0, durability: 'none' });
        const memory = new MemoryStorage();
        try {
          for (const storage of [lmdb, memory]) await storage.write((batch) => keys.forEach((key) => batch.put(key, enc.encode('v'))));
          const expected = keys.filter((key) => selectsKey(selection, key)).map(hex).sort();
          t.same(scanAll(lmdb, selection, limit, examineMax).keys, expected, 'LMDB');
          t.same(scanAll(memory, selection, limit, examineMax).keys, expected, 'memory');
        } finally {
          await lmdb.close();
        }
      },
    ),
    { numRuns: 60 },
  );
});

t.test("one partition's scan examines its own keys and a seek per space, not the store", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ringtable-partition-scan-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const storage = new LmdbStorage({ path: dir, nodeId: 0, durability: 'none' });
  t.teardown(() => storage.close());
  const partitionBits = 10;
  const keys: Uint8Array[] = [];
  for (let space = 1; space <= 4; space++) for (let i = 0; i < 5000; i++) keys.push(encodePartitionedKey(hashKey32, space, enc.encode(`pk${i}`), enc.encode('s')));
  await storage.write((batch) => keys.forEach((key) => batch.put(key, enc.encode('v'))));
  const partition = partitionOfKey(selectionOf(partitionBits, []), keys[0]!);
  const selection = selectionOf(partitionBits, [partition]);
  const wanted = keys.filter((key) => selectsKey(selection, key)).length;
  // Examined keys bounded per page: a page that examines at most the wanted keys, a key after each run and a seek per space ends the scan.
  const page = storage.scan(new Uint8Array(0), selection, 100_000, wanted + 2 * 4 + 2);
  t.equal(page.next, undefined, `the whole scan (${keys.length} keys, ${wanted} wanted) within ${wanted + 10} keys examined`);
  t.equal(page.entries.length, wanted);
});
