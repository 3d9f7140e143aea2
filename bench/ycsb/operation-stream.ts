/**
 * The whole operation sequence of a run, generated before the measured loop
 * so that choosing keys and operations costs the loop nothing and a seed
 * replays the run exactly (style rule 15).
 *
 * Operation i is codes[i] (an OpCode, the index of its kind in OP_KINDS) on
 * key number keyNumbers[i] (the key itself is keyName(keyNumbers[i])); a
 * scan reads scanLengths[i] records from there (0 for other operations).
 * Memory: BYTES_PER_OPERATION = 11 bytes per operation (1 code, 8 key
 * number, 2 scan length), so the bound of OPERATIONS_MAX = 50M operations
 * is 550 MB.
 *
 * Keys follow YCSB CoreWorkload: the load phase holds keys 0..recordCount-1;
 * inserts take recordCount, recordCount+1, ... in stream order; every other
 * operation picks, through the request distribution, among the keys
 * inserted before it in the stream ('latest' favours the newest of them).
 * YCSB only lets operations see inserts that have been acknowledged; a
 * runner with many operations in flight may issue a read of a key whose
 * insert is still in flight, and should expect (and count) a miss there.
 *
 * Randomness: three independent Prng streams derived from config.seed
 * (operation kinds, keys, scan lengths), so, for example, changing the scan
 * length bound does not change which keys are read.
 */
import { ErrorCode, RingtableError } from '../../lib/errors.js';
import { Prng, deriveSeed } from '../../lib/prng.js';
import { OP_KINDS, type DistributionName, type WorkloadConfig } from './bench-report.js';
import { validateMix } from './core-workloads.js';
import { keyChooserFor } from './request-distribution.js';
import { nextUnitDouble } from './unit-interval.js';

/** Index into OP_KINDS. */
export const OpCode = { READ: 0, UPDATE: 1, INSERT: 2, SCAN: 3, READ_MODIFY_WRITE: 4 } as const;
export type OpCode = (typeof OpCode)[keyof typeof OpCode];

export interface OperationStream {
  count: number;
  codes: Uint8Array;
  keyNumbers: Float64Array;
  scanLengths: Uint16Array;
  /** Keys existing after the whole stream: recordCount + its inserts. */
  keyCountAfter: number;
  /**
   * Zipfian draws that found no inserted key in REDRAWS_MAX tries and were
   * folded into range with a modulo (see zipfian.ts); 0 unless the records
   * loaded are a tiny fraction of the keys inserted.
   */
  foldedDraws: number;
}

export const OPERATIONS_MAX = 50_000_000;
export const BYTES_PER_OPERATION = 1 + 8 + 2;
/** Record numbers stay far inside a double's exact integers and fnvHash64Mod's 2^37 modulus. */
export const RECORD_COUNT_MAX = 2 ** 32;
/** Scan lengths are stored as uint16. */
export const SCAN_LENGTH_LIMIT = 0xffff;

const DISTRIBUTIONS: readonly DistributionName[] = ['uniform', 'zipfian', 'scrambled-zipfian', 'hotspot', 'latest'];

/** Stream seeds: fixed numbers, part of what a seed means, so never renumber them. */
const Stream = { OPERATION_KINDS: 0, KEYS: 1, SCAN_LENGTHS: 2 } as const;

// OpCode must stay the index of its kind in OP_KINDS: a runner maps codes back through it.
if (OP_KINDS[OpCode.READ] !== 'read' || OP_KINDS[OpCode.UPDATE] !== 'update' || OP_KINDS[OpCode.INSERT] !== 'insert' || OP_KINDS[OpCode.SCAN] !== 'scan' || OP_KINDS[OpCode.READ_MODIFY_WRITE] !== 'readModifyWrite') {
  throw new Error('OpCode no longer matches OP_KINDS');
}

function invalid(message: string): RingtableError {
  return new RingtableError(ErrorCode.INVALID_OPTIONS, `invalid workload: ${message}`);
}

function requireInteger(name: string, value: number, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) throw invalid(`${name} must be an integer in [${min}, ${max}], got ${value}`);
}

function requireFraction(name: string, value: number, low: 'open' | 'closed', high: 'open' | 'closed'): void {
  const ok = typeof value === 'number' && (low === 'open' ? value > 0 : value >= 0) && (high === 'open' ? value < 1 : value <= 1);
  if (!ok) throw invalid(`${name} must be in ${low === 'open' ? '(' : '['}0, 1${high === 'open' ? ')' : ']'}, got ${value}`);
}

/** Throws RingtableError(INVALID_OPTIONS) naming the first field out of range. */
export function validateWorkload(config: WorkloadConfig): void {
  if (typeof config.name !== 'string' || config.name.length === 0) throw invalid('name must be a non-empty string');
  validateMix(config.mix);
  if (!DISTRIBUTIONS.includes(config.distribution)) throw invalid(`distribution must be one of ${DISTRIBUTIONS.join(', ')}, got ${String(config.distribution)}`);
  requireFraction('theta', config.theta, 'open', 'open');
  requireFraction('hotspotDataFraction', config.hotspotDataFraction, 'closed', 'closed');
  requireFraction('hotspotOpFraction', config.hotspotOpFraction, 'closed', 'closed');
  requireInteger('recordCount', config.recordCount, 1, RECORD_COUNT_MAX);
  requireInteger('valueBytes', config.valueBytes, 0, Number.MAX_SAFE_INTEGER);
  requireInteger('scanLengthMax', config.scanLengthMax, 1, SCAN_LENGTH_LIMIT);
  requireInteger('operationCount', config.operationCount, 0, OPERATIONS_MAX);
  requireInteger('durationMs', config.durationMs, 0, Number.MAX_SAFE_INTEGER);
  requireInteger('concurrency', config.concurrency, 1, Number.MAX_SAFE_INTEGER);
  if (!(typeof config.targetPerSec === 'number' && Number.isFinite(config.targetPerSec) && config.targetPerSec >= 0)) {
    throw invalid(`targetPerSec must be a finite number >= 0, got ${config.targetPerSec}`);
  }
  requireInteger('seed', config.seed, 0, 0xffff_ffff);
}

/**
 * The first `operationCount` operations of `config`'s run (default: all of
 * config.operationCount). Deterministic: the same config gives the same stream.
 */
export function generateOperations(config: WorkloadConfig, operationCount = config.operationCount): OperationStream {
  validateWorkload(config);
  requireInteger('operationCount', operationCount, 0, OPERATIONS_MAX);
  const count = operationCount;
  const codes = new Uint8Array(count);
  const keyNumbers = new Float64Array(count);
  const scanLengths = new Uint16Array(count);
  // YCSB's DiscreteGenerator: one uniform draw walked over cumulative proportions, in OP_KINDS order.
  const cumulative = new Float64Array(OP_KINDS.length);
  let sum = 0;
  let lastPresent = 0;
  OP_KINDS.forEach((kind, index) => {
    sum += config.mix[kind];
    cumulative[index] = sum;
    if (config.mix[kind] > 0) lastPresent = index;
  });
  const kindPrng = new Prng(deriveSeed(config.seed, Stream.OPERATION_KINDS));
  const keyPrng = new Prng(deriveSeed(config.seed, Stream.KEYS));
  const scanPrng = new Prng(deriveSeed(config.seed, Stream.SCAN_LENGTHS));
  const chooser = keyChooserFor(config, count);
  let insertedCount = config.recordCount;
  for (let i = 0; i < count; i++) {
    const u = nextUnitDouble(kindPrng) * sum;
    let code = 0;
    while (code < lastPresent && !(u < cumulative[code]!)) code++;
    codes[i] = code;
    if (code === OpCode.INSERT) {
      keyNumbers[i] = insertedCount++;
      continue;
    }
    keyNumbers[i] = chooser.next(keyPrng, insertedCount);
    if (code === OpCode.SCAN) scanLengths[i] = 1 + Math.floor(nextUnitDouble(scanPrng) * config.scanLengthMax);
  }
  const foldedDraws = 'foldedDraws' in chooser && typeof chooser.foldedDraws === 'number' ? chooser.foldedDraws : 0;
  return { count, codes, keyNumbers, scanLengths, keyCountAfter: insertedCount, foldedDraws };
}
