/**
 * YCSB workload generators against YCSB's definitions. Statistical checks
 * allow 5 binomial standard deviations (sqrt(p(1-p)/draws)) around the
 * exact probability: with these fixed seeds they either always pass or
 * always fail, and a correct generator fails one with probability < 1e-6.
 */
import t from 'tap';
import { ErrorCode } from '../lib/errors.js';
import { Prng, deriveSeed } from '../lib/prng.js';
import { OP_KINDS, type WorkloadConfig } from '../bench/ycsb/bench-report.js';
import { CORE_WORKLOAD_LETTERS, coreWorkload, customWorkload, mixOf, parseMix } from '../bench/ycsb/core-workloads.js';
import { FNV_MODULUS_MAX, fnvHash64, fnvHash64Decimal, fnvHash64Mod } from '../bench/ycsb/fnv-hash.js';
import { HotspotGenerator } from '../bench/ycsb/hotspot.js';
import { keyName } from '../bench/ycsb/key-name.js';
import { LatestGenerator } from '../bench/ycsb/latest.js';
import { OPERATIONS_MAX, OpCode, generateOperations, validateWorkload } from '../bench/ycsb/operation-stream.js';
import { SCRAMBLED_ZIPFIAN_ZETA_N, ScrambledZipfianGenerator } from '../bench/ycsb/scrambled-zipfian.js';
import { UniformGenerator } from '../bench/ycsb/uniform.js';
import { zeta } from '../bench/ycsb/zeta.js';
import { ZipfianGenerator } from '../bench/ycsb/zipfian.js';
import { failsWith } from './helpers/temp-store.js';

const SEED = 0x7c5b_2025;
const SIGMAS = 5;
t.comment(`seed=${SEED}`);

function binomialTolerance(p: number, draws: number): number {
  return SIGMAS * Math.sqrt((p * (1 - p)) / draws);
}

/** Straightforward YCSB Utils.fnvhash64 in BigInt, the reference for the fast one. */
function referenceFnvHash64(value: number): bigint {
  const mask64 = (1n << 64n) - 1n;
  let octets = BigInt.asUintN(64, BigInt(value));
  let hash = 0xcbf29ce484222325n;
  for (let i = 0; i < 8; i++) {
    const octet = octets & 0xffn;
    octets >>= 8n;
    hash ^= octet;
    hash = (hash * 1099511628211n) & mask64;
  }
  const signed = BigInt.asIntN(64, hash);
  // Java's Math.abs: Long.MIN_VALUE stays negative.
  return signed < 0n && signed !== -(1n << 63n) ? -signed : signed;
}

/** Java's % on longs: the remainder takes the dividend's sign (BigInt's % does too). */
function referenceMod(value: number, modulus: number): number {
  return Number(referenceFnvHash64(value) % BigInt(modulus));
}

function testInputs(): number[] {
  const edges = [0, 1, 2, 255, 256, 65535, 65536, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 2 ** 40, 2 ** 52, 2 ** 53 - 1, 1e10, 1e10 + 1, -1, -256, -(2 ** 32), -(2 ** 53 - 1)];
  const prng = new Prng(SEED);
  const inputs = [...edges];
  for (let i = 0; i < 20_000; i++) {
    // 53 random bits, then a random magnitude so small numbers are covered too.
    const full = (prng.nextUint32() >>> 11) * 2 ** 32 + prng.nextUint32();
    inputs.push(Math.floor(full / 2 ** prng.nextBelow(53)));
  }
  for (let i = 0; i < 1000; i++) inputs.push(-(prng.nextUint32() * 1000 + prng.nextBelow(1000)));
  return inputs;
}

t.test('fnvHash64 matches a straightforward BigInt YCSB fnvhash64 on edge and seeded random inputs', async (t) => {
  const inputs = testInputs();
  const moduli = [1, 2, 1000, 2 ** 21, 2 ** 21 + 1, 1_000_003, 1e10 + 1, FNV_MODULUS_MAX];
  let hashMismatches = 0;
  let decimalMismatches = 0;
  let modMismatches = 0;
  let negativeRaw = 0;
  for (const value of inputs) {
    const expected = referenceFnvHash64(value);
    if (fnvHash64(value) !== expected) hashMismatches++;
    if (fnvHash64Decimal(value) !== expected.toString()) decimalMismatches++;
    for (const modulus of moduli) if (fnvHash64Mod(value, modulus) !== referenceMod(value, modulus)) modMismatches++;
    // The raw hash was negative (Math.abs did something) iff the unsigned hash has bit 63 set.
    let octets = BigInt.asUintN(64, BigInt(value));
    let hash = 0xcbf29ce484222325n;
    for (let i = 0; i < 8; i++, octets >>= 8n) hash = ((hash ^ (octets & 0xffn)) * 1099511628211n) & ((1n << 64n) - 1n);
    if (hash >= 1n << 63n) negativeRaw++;
  }
  t.equal(hashMismatches, 0, `fnvHash64 equals the reference on ${inputs.length} inputs`);
  t.equal(decimalMismatches, 0, 'fnvHash64Decimal equals the reference as a decimal string');
  t.equal(modMismatches, 0, `fnvHash64Mod equals the reference remainder for moduli ${moduli.join(', ')}`);
  t.ok(negativeRaw > inputs.length / 4 && negativeRaw < (inputs.length * 3) / 4, `the Math.abs path is exercised (${negativeRaw} of ${inputs.length} raw hashes negative)`);
  t.ok(fnvHash64(12345) > 0n, 'a hash is non-negative');
  t.throws(() => fnvHash64(0.5), 'a non-integer is refused');
  t.throws(() => fnvHash64Mod(1, 0), 'modulus 0 is refused');
  t.throws(() => fnvHash64Mod(1, FNV_MODULUS_MAX + 1), 'a modulus beyond 2^37 is refused');
});

t.test('keyName is YCSB buildKeyName with hashed inserts', async (t) => {
  // The first key of every YCSB load (record 0), as YCSB's logs show it.
  t.equal(keyName(0), 'user6284781860667377211');
  const prng = new Prng(deriveSeed(SEED, 1));
  let mismatches = 0;
  for (let i = 0; i < 5000; i++) {
    const keyNumber = prng.nextUint32() * (1 + prng.nextBelow(1000));
    if (keyName(keyNumber) !== `user${referenceFnvHash64(keyNumber)}`) mismatches++;
  }
  t.equal(mismatches, 0, 'keyName(n) = "user" + fnvhash64(n) for 5000 seeded key numbers');
  const names = new Set<string>();
  for (let i = 0; i < 100_000; i++) names.add(keyName(i));
  t.equal(names.size, 100_000, 'the first 100k key numbers give distinct names');
});

t.test('zeta: the Euler-Maclaurin sum agrees with the direct sum and with YCSB\'s precomputed zeta(10^10)', async (t) => {
  for (const theta of [0.99, 0.5, 0.2]) {
    const n = 3_000_000;
    let direct = 0;
    for (let i = 1; i <= n; i++) direct += 1 / Math.pow(i, theta);
    const fast = zeta(n, theta);
    t.ok(Math.abs(fast - direct) / direct < 1e-12, `theta ${theta}: zeta(${n}) ${fast} vs direct ${direct}`);
    const incremental = zeta(n, theta, 1_000_000, zeta(1_000_000, theta));
    t.ok(Math.abs(incremental - direct) / direct < 1e-12, `theta ${theta}: incremental zeta from 10^6 agrees`);
  }
  // YCSB summed 10^10 terms naively; rounding adds about sqrt(10^10) half-ulps
  // of ~26 (1.8e-15 each), ~2e-10 typical: 1e-9 leaves room for that, no more.
  const computed = zeta(1e10, 0.99);
  t.ok(Math.abs(computed - SCRAMBLED_ZIPFIAN_ZETA_N) < 1e-9, `zeta(10^10, 0.99) = ${computed}, YCSB's ZETAN ${SCRAMBLED_ZIPFIAN_ZETA_N}`);
});

t.test('plain zipfian: items 0 and 1 are drawn with probability exactly 1/zeta(n) and 2^-theta/zeta(n)', async (t) => {
  const theta = 0.99;
  for (const [n, draws] of [
    [1000, 1_000_000],
    [100_000, 1_000_000],
  ] as const) {
    const generator = new ZipfianGenerator(n, theta);
    const prng = new Prng(deriveSeed(SEED, n));
    const counts = new Uint32Array(n);
    let outOfRange = 0;
    for (let i = 0; i < draws; i++) {
      const item = generator.draw(prng);
      if (!(item >= 0 && item < n && Number.isInteger(item))) outOfRange++;
      else counts[item]!++;
    }
    t.equal(outOfRange, 0, `n=${n}: every draw is an item in [0, n)`);
    const zetaN = zeta(n, theta);
    const expected0 = 1 / zetaN;
    const expected1 = Math.pow(2, -theta) / zetaN;
    const share0 = counts[0]! / draws;
    const share1 = counts[1]! / draws;
    const tolerance0 = binomialTolerance(expected0, draws);
    const tolerance1 = binomialTolerance(expected1, draws);
    t.ok(Math.abs(share0 - expected0) <= tolerance0, `n=${n}: hottest item's share ${share0.toFixed(5)} within ${tolerance0.toFixed(5)} of 1/zeta(n) = ${expected0.toFixed(5)}`);
    t.ok(Math.abs(share1 - expected1) <= tolerance1, `n=${n}: second item's share ${share1.toFixed(5)} within ${tolerance1.toFixed(5)} of ${expected1.toFixed(5)}`);
    t.ok(counts[1]! > counts[2]! && counts[2]! > counts[3]! && counts[3]! > counts[4]!, `n=${n}: popularity falls with the item number (${counts.slice(0, 5).join(', ')})`);
  }
});

t.test('scrambled zipfian over 1M items: hottest item ~3.8% (1/ZETAN), the popular items scattered by fnvhash64', async (t) => {
  const n = 1_000_000;
  const draws = 1_000_000;
  const generator = new ScrambledZipfianGenerator(n);
  const prng = new Prng(deriveSeed(SEED, 7));
  const counts = new Uint32Array(n);
  for (let i = 0; i < draws; i++) counts[generator.draw(prng)]!++;
  const hottest = generator.itemForRank(0);
  const share = counts[hottest]! / draws;
  // Rank 0 is drawn with probability exactly 1/ZETAN; other ranks hashing to
  // the same item add about (1 - 1/ZETAN)/n ~ 1e-6 in expectation: 1e-4 of
  // slack is a hundred times that.
  const expected = 1 / SCRAMBLED_ZIPFIAN_ZETA_N;
  const tolerance = binomialTolerance(expected, draws) + 1e-4;
  t.ok(Math.abs(share - expected) <= tolerance, `hottest share ${(share * 100).toFixed(3)}% within ${(tolerance * 100).toFixed(3)}% of ${(expected * 100).toFixed(3)}% (anchors: about 3.8%)`);
  const plainShare = 1 / zeta(n, 0.99);
  t.ok(share < plainShare - 0.02, `below the plain zipfian's ${(plainShare * 100).toFixed(2)}%`);
  // The five most drawn items are ranks 0..4 hashed (neighbouring ranks'
  // probabilities differ by > 15 binomial sigmas at this draw count).
  const byCount = [...counts.keys()].sort((a, b) => counts[b]! - counts[a]!).slice(0, 5);
  const expectedTop = [0, 1, 2, 3, 4].map((rank) => generator.itemForRank(rank));
  t.same(byCount, expectedTop, `top five items are fnvhash64(rank) % n for ranks 0..4: ${expectedTop.join(', ')}`);
  t.ok(Math.max(...expectedTop) - Math.min(...expectedTop) > n / 10, 'the popular items are scattered, not clustered at 0');
});

t.test('hotspot: opFraction of the draws go to the first dataFraction of the keys', async (t) => {
  const n = 10_000;
  const draws = 200_000;
  for (const [dataFraction, opFraction] of [
    [0.2, 0.8],
    [0.05, 0.99],
    [0.5, 0.3],
  ] as const) {
    const generator = new HotspotGenerator(dataFraction, opFraction);
    const hotCount = generator.hotCount(n);
    t.equal(hotCount, Math.floor(n * dataFraction), `hot set is ${hotCount} keys`);
    const prng = new Prng(deriveSeed(SEED, 11));
    let hot = 0;
    let outOfRange = 0;
    let hotSum = 0;
    for (let i = 0; i < draws; i++) {
      const key = generator.next(prng, n);
      if (!(key >= 0 && key < n)) outOfRange++;
      if (key < hotCount) {
        hot++;
        hotSum += key;
      }
    }
    const tolerance = binomialTolerance(opFraction, draws);
    t.equal(outOfRange, 0, 'every key in range');
    t.ok(Math.abs(hot / draws - opFraction) <= tolerance, `(${dataFraction}, ${opFraction}): hot share ${(hot / draws).toFixed(4)} within ${tolerance.toFixed(4)} of ${opFraction}`);
    // Uniform within the hot set: mean (hotCount-1)/2, sd of one draw hotCount/sqrt(12).
    const meanTolerance = (SIGMAS * hotCount) / Math.sqrt(12 * hot);
    t.ok(Math.abs(hotSum / hot - (hotCount - 1) / 2) <= meanTolerance, `hot draws centred on the hot set (mean ${(hotSum / hot).toFixed(1)})`);
  }
  const prng = new Prng(SEED);
  const allCold = new HotspotGenerator(0, 0.8);
  const allHot = new HotspotGenerator(1, 0.8);
  let coldOnly = true;
  let inRange = true;
  for (let i = 0; i < 1000; i++) {
    if (allCold.next(prng, 10) < 0) coldOnly = false;
    const key = allHot.next(prng, 10);
    if (key < 0 || key >= 10) inRange = false;
  }
  t.ok(coldOnly && inRange, 'an empty hot set or an empty cold set still draws in range');
});

t.test('latest: the newest key is drawn with probability 1/zeta(count), following the inserts', async (t) => {
  const draws = 400_000;
  const generator = new LatestGenerator(1000);
  const prng = new Prng(deriveSeed(SEED, 13));
  for (const count of [1000, 5000]) {
    let newest = 0;
    let newestTen = 0;
    let outOfRange = 0;
    for (let i = 0; i < draws; i++) {
      const key = generator.next(prng, count);
      if (!(key >= 0 && key < count)) outOfRange++;
      if (key === count - 1) newest++;
      if (key >= count - 10) newestTen++;
    }
    const expected = 1 / zeta(count, 0.99);
    const tolerance = binomialTolerance(expected, draws);
    t.equal(outOfRange, 0, `count ${count}: every key in range`);
    t.ok(Math.abs(newest / draws - expected) <= tolerance, `count ${count}: newest key's share ${(newest / draws).toFixed(4)} within ${tolerance.toFixed(4)} of ${expected.toFixed(4)}`);
    t.ok(newestTen / draws > 0.3, `count ${count}: the newest 10 keys take ${((newestTen / draws) * 100).toFixed(1)}% of draws`);
  }
});

t.test('uniform: flat by a chi-square test', async (t) => {
  const buckets = 100;
  const draws = 200_000;
  const generator = new UniformGenerator();
  const prng = new Prng(deriveSeed(SEED, 17));
  const counts = new Uint32Array(buckets);
  for (let i = 0; i < draws; i++) counts[generator.next(prng, buckets)]!++;
  const expected = draws / buckets;
  let chiSquare = 0;
  for (const count of counts) chiSquare += (count - expected) ** 2 / expected;
  // Chi-square with k-1 = 99 degrees of freedom: mean 99, sd sqrt(2*99) ~ 14.
  const bound = buckets - 1 + SIGMAS * Math.sqrt(2 * (buckets - 1));
  t.ok(chiSquare < bound, `chi-square ${chiSquare.toFixed(1)} < ${bound.toFixed(1)}`);
  t.equal(counts.reduce((a, b) => a + b, 0), draws, 'every draw in range');
});

t.test('core workloads: each operation type\'s share is within binomial tolerance of the mix', async (t) => {
  const operationCount = 200_000;
  for (const letter of CORE_WORKLOAD_LETTERS) {
    const config = coreWorkload(letter, { recordCount: 10_000, operationCount, seed: SEED });
    const stream = generateOperations(config);
    t.equal(stream.count, operationCount, `${letter}: ${operationCount} operations`);
    const counts = new Array<number>(OP_KINDS.length).fill(0);
    for (const code of stream.codes) counts[code]!++;
    OP_KINDS.forEach((kind, code) => {
      const proportion = config.mix[kind];
      const share = counts[code]! / operationCount;
      if (proportion === 0) {
        t.equal(counts[code], 0, `${letter}: no ${kind}`);
      } else {
        const tolerance = binomialTolerance(proportion, operationCount);
        t.ok(Math.abs(share - proportion) <= tolerance, `${letter}: ${kind} share ${share.toFixed(4)} within ${tolerance.toFixed(4)} of ${proportion}`);
      }
    });
  }
  t.equal(coreWorkload('d').distribution, 'latest', 'd reads the latest inserts');
  t.equal(coreWorkload('A').distribution, 'scrambled-zipfian', "YCSB's zipfian is the scrambled one");
});

t.test('workload e: scan lengths uniform in 1..scanLengthMax, 0 for other operations', async (t) => {
  const config = coreWorkload('e', { recordCount: 10_000, operationCount: 100_000, seed: SEED });
  const stream = generateOperations(config);
  let scans = 0;
  let sum = 0;
  let bad = 0;
  const seen = new Set<number>();
  for (let i = 0; i < stream.count; i++) {
    const length = stream.scanLengths[i]!;
    if (stream.codes[i] === OpCode.SCAN) {
      scans++;
      sum += length;
      seen.add(length);
      if (length < 1 || length > config.scanLengthMax) bad++;
    } else if (length !== 0) {
      bad++;
    }
  }
  t.equal(bad, 0, 'every scan length in [1, 100], others 0');
  t.equal(seen.size, config.scanLengthMax, 'every length from 1 to 100 occurs');
  const max = config.scanLengthMax;
  const sd = Math.sqrt((max * max - 1) / 12);
  const tolerance = (SIGMAS * sd) / Math.sqrt(scans);
  t.ok(Math.abs(sum / scans - (max + 1) / 2) <= tolerance, `mean scan length ${(sum / scans).toFixed(2)} within ${tolerance.toFixed(2)} of ${(max + 1) / 2}`);
});

t.test('generateOperations never picks a key not yet inserted; inserts take recordCount, recordCount+1, ...', async (t) => {
  const mix = parseMix('read=0.3,update=0.1,insert=0.4,scan=0.1,rmw=0.1');
  for (const distribution of ['uniform', 'zipfian', 'scrambled-zipfian', 'hotspot', 'latest'] as const) {
    const config = customWorkload(mix, { distribution, recordCount: 50, operationCount: 50_000, seed: SEED });
    const stream = generateOperations(config);
    let inserted = config.recordCount;
    let ahead = 0;
    let misnumbered = 0;
    let newestReads = 0;
    for (let i = 0; i < stream.count; i++) {
      const key = stream.keyNumbers[i]!;
      if (stream.codes[i] === OpCode.INSERT) {
        if (key !== inserted) misnumbered++;
        inserted++;
      } else {
        if (!(Number.isInteger(key) && key >= 0 && key < inserted)) ahead++;
        if (key === inserted - 1) newestReads++;
      }
    }
    t.equal(ahead, 0, `${distribution}: no operation targets a key not inserted before it`);
    t.equal(misnumbered, 0, `${distribution}: inserts numbered in stream order`);
    t.equal(stream.keyCountAfter, inserted, `${distribution}: keyCountAfter counts the inserts`);
    t.equal(stream.foldedDraws, 0, `${distribution}: no zipfian draw needed folding`);
    if (distribution === 'latest') t.ok(newestReads > (stream.count - (inserted - config.recordCount)) * 0.05, `latest: ${newestReads} operations hit the newest key of their moment`);
  }
});

/** Byte equality of two typed arrays (t.same walks them element by element, far too slowly). */
function sameBytes(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

t.test('the stream is deterministic for a seed and differs across seeds', async (t) => {
  for (const letter of ['a', 'd', 'e'] as const) {
    const config = coreWorkload(letter, { recordCount: 1000, operationCount: 20_000, seed: 1234 });
    const first = generateOperations(config);
    const again = generateOperations({ ...config });
    const other = generateOperations({ ...config, seed: 1235 });
    t.ok(sameBytes(again.codes, first.codes), `${letter}: same codes`);
    t.ok(sameBytes(again.keyNumbers, first.keyNumbers), `${letter}: same keys`);
    t.ok(sameBytes(again.scanLengths, first.scanLengths), `${letter}: same scan lengths`);
    t.notOk(sameBytes(other.keyNumbers, first.keyNumbers), `${letter}: another seed, other keys`);
    t.notOk(sameBytes(other.codes, first.codes), `${letter}: another seed, other operation order`);
  }
  const config = coreWorkload('a', { recordCount: 1000, operationCount: 20_000, seed: 77 });
  const prefix = generateOperations(config, 5000);
  const whole = generateOperations(config);
  t.ok(sameBytes(prefix.codes, whole.codes.subarray(0, 5000)) && sameBytes(prefix.keyNumbers, whole.keyNumbers.subarray(0, 5000)), 'a shorter stream is a prefix when the key space does not depend on the length (no inserts)');
});

t.test('parseMix and validateWorkload refuse bad input with ERR_INVALID_OPTIONS', async (t) => {
  t.same(parseMix('read=0.5,update=0.3,insert=0.1,scan=0.05,rmw=0.05'), { read: 0.5, update: 0.3, insert: 0.1, scan: 0.05, readModifyWrite: 0.05 });
  t.same(parseMix(' READ = 0.1 , readModifyWrite=0.9'), mixOf({ read: 0.1, readModifyWrite: 0.9 }), 'any case, spaces, omitted operations 0');
  t.same(parseMix('read=0.1,update=0.2,insert=0.7'), mixOf({ read: 0.1, update: 0.2, insert: 0.7 }), 'binary rounding of decimal fractions is tolerated');
  for (const [text, why] of [
    ['', 'empty'],
    ['read=0.5,delete=0.5', 'unknown operation'],
    ['read=1.5,update=-0.5', 'negative'],
    ['read=0.5,update=0.4', 'sum 0.9'],
    ['read=0.5,update=0.5000001', 'sum 1 + 1e-7'],
    ['read=0.5,read=0.5', 'duplicate'],
    ['read:1', 'not name=value'],
    ['read=half,update=0.5', 'not a number'],
  ]) {
    await failsWith(t, () => parseMix(text!), ErrorCode.INVALID_OPTIONS, `parseMix '${text}' (${why})`);
  }
  const good: WorkloadConfig = coreWorkload('a');
  t.doesNotThrow(() => validateWorkload(good), 'a core workload is valid');
  const bad: Array<[Partial<WorkloadConfig>, string]> = [
    [{ operationCount: OPERATIONS_MAX + 1 }, 'more operations than the bound'],
    [{ recordCount: 0 }, 'no records'],
    [{ scanLengthMax: 0 }, 'scan length 0'],
    [{ scanLengthMax: 70_000 }, 'scan length beyond uint16'],
    [{ theta: 1 }, 'theta 1'],
    [{ hotspotOpFraction: 1.5 }, 'op fraction > 1'],
    [{ distribution: 'pareto' as never }, 'unknown distribution'],
    [{ mix: mixOf({ read: 0.5 }) }, 'mix summing to 0.5'],
    [{ concurrency: 0 }, 'no concurrency'],
    [{ seed: -1 }, 'negative seed'],
  ];
  for (const [change, why] of bad) {
    await failsWith(t, () => generateOperations({ ...good, ...change }), ErrorCode.INVALID_OPTIONS, `generateOperations refuses ${why}`);
  }
  await failsWith(t, () => coreWorkload('g'), ErrorCode.INVALID_OPTIONS, 'unknown core workload letter');
});
