/**
 * The six YCSB core workloads (brianfrankcooper/YCSB workloads/workloada..f)
 * and custom operation mixes.
 *
 *   a  update heavy        read 0.50  update 0.50                 zipfian
 *   b  read mostly         read 0.95  update 0.05                 zipfian
 *   c  read only           read 1.00                              zipfian
 *   d  read latest         read 0.95  insert 0.05                 latest
 *   e  short ranges        scan 0.95  insert 0.05                 zipfian, scan length uniform 1..100
 *   f  read-modify-write   read 0.50  read-modify-write 0.50      zipfian
 *
 * YCSB's "zipfian" request distribution is the scrambled one, so the core
 * workloads use 'scrambled-zipfian'; 'zipfian' here is the plain, clustered
 * zipfian (for showing hot-spot mitigations, see /work/shared/anchors.md).
 */
import { ErrorCode, RingtableError } from '../../lib/errors.js';
import { OP_KINDS, type DistributionName, type OpKind, type OperationMix, type WorkloadConfig } from './bench-report.js';
import { HOTSPOT_DATA_FRACTION_DEFAULT, HOTSPOT_OP_FRACTION_DEFAULT } from './hotspot.js';
import { ZIPFIAN_THETA_DEFAULT } from './zipfian.js';

export const CORE_WORKLOAD_LETTERS = ['a', 'b', 'c', 'd', 'e', 'f'] as const;
export type CoreWorkloadLetter = (typeof CORE_WORKLOAD_LETTERS)[number];

/** A mix's proportions may miss 1 by this much (decimal fractions do not add exactly in binary). */
export const MIX_SUM_TOLERANCE = 1e-9;

/** YCSB maxscanlength default. */
export const SCAN_LENGTH_MAX_DEFAULT = 100;

/**
 * Everything but the mix and distribution. YCSB's record is 10 fields of 100
 * bytes, hence valueBytes 1000; counts and concurrency are modest defaults
 * for these 2-core machines, meant to be overridden.
 */
export const WORKLOAD_DEFAULTS: Omit<WorkloadConfig, 'name' | 'mix' | 'distribution'> = Object.freeze({
  theta: ZIPFIAN_THETA_DEFAULT,
  hotspotDataFraction: HOTSPOT_DATA_FRACTION_DEFAULT,
  hotspotOpFraction: HOTSPOT_OP_FRACTION_DEFAULT,
  recordCount: 100_000,
  valueBytes: 1000,
  scanLengthMax: SCAN_LENGTH_MAX_DEFAULT,
  operationCount: 100_000,
  durationMs: 0,
  concurrency: 64,
  targetPerSec: 0,
  seed: 42,
});

/** A full mix from the proportions given; the others are 0. */
export function mixOf(proportions: Partial<OperationMix>): OperationMix {
  return { read: 0, update: 0, insert: 0, scan: 0, readModifyWrite: 0, ...proportions };
}

const CORE: Record<CoreWorkloadLetter, { mix: OperationMix; distribution: DistributionName }> = {
  a: { mix: mixOf({ read: 0.5, update: 0.5 }), distribution: 'scrambled-zipfian' },
  b: { mix: mixOf({ read: 0.95, update: 0.05 }), distribution: 'scrambled-zipfian' },
  c: { mix: mixOf({ read: 1 }), distribution: 'scrambled-zipfian' },
  d: { mix: mixOf({ read: 0.95, insert: 0.05 }), distribution: 'latest' },
  e: { mix: mixOf({ scan: 0.95, insert: 0.05 }), distribution: 'scrambled-zipfian' },
  f: { mix: mixOf({ read: 0.5, readModifyWrite: 0.5 }), distribution: 'scrambled-zipfian' },
};

export function isCoreWorkloadLetter(text: string): text is CoreWorkloadLetter {
  return (CORE_WORKLOAD_LETTERS as readonly string[]).includes(text);
}

/** YCSB core workload `letter` (a..f, either case), with the defaults above unless overridden. */
export function coreWorkload(letter: string, overrides: Partial<Omit<WorkloadConfig, 'name' | 'mix'>> = {}): WorkloadConfig {
  const name = letter.toLowerCase();
  if (!isCoreWorkloadLetter(name)) {
    throw new RingtableError(ErrorCode.INVALID_OPTIONS, `unknown YCSB core workload '${letter}': expected one of ${CORE_WORKLOAD_LETTERS.join(', ')}`);
  }
  const core = CORE[name];
  return { ...WORKLOAD_DEFAULTS, distribution: core.distribution, ...overrides, name, mix: { ...core.mix } };
}

/** A custom mix (name 'custom'): the distribution defaults to YCSB's, scrambled zipfian. */
export function customWorkload(mix: OperationMix, overrides: Partial<Omit<WorkloadConfig, 'name' | 'mix'>> = {}): WorkloadConfig {
  validateMix(mix);
  return { ...WORKLOAD_DEFAULTS, distribution: 'scrambled-zipfian', ...overrides, name: 'custom', mix: { ...mix } };
}

const OP_NAMES: Record<string, OpKind> = {
  read: 'read',
  update: 'update',
  insert: 'insert',
  scan: 'scan',
  rmw: 'readModifyWrite',
  readmodifywrite: 'readModifyWrite',
  'read-modify-write': 'readModifyWrite',
};

function invalidMix(message: string): RingtableError {
  return new RingtableError(ErrorCode.INVALID_OPTIONS, `invalid operation mix: ${message}`);
}

/**
 * Parse `read=0.5,update=0.3,insert=0.1,scan=0.05,rmw=0.05`. Names: read,
 * update, insert, scan, rmw (or readModifyWrite, read-modify-write); any
 * case; omitted operations get 0. The proportions must sum to 1.
 */
export function parseMix(text: string): OperationMix {
  const mix = mixOf({});
  const seen = new Set<OpKind>();
  const entries = text.split(',').map((entry) => entry.trim());
  if (entries.length === 1 && entries[0] === '') throw invalidMix('empty; expected e.g. read=0.5,update=0.5');
  for (const entry of entries) {
    const match = /^([A-Za-z-]+)\s*=\s*(\S+)$/.exec(entry);
    if (match === null) throw invalidMix(`'${entry}' is not name=proportion (e.g. read=0.5)`);
    const kind = OP_NAMES[match[1]!.toLowerCase()];
    if (kind === undefined) throw invalidMix(`unknown operation '${match[1]}': expected one of read, update, insert, scan, rmw`);
    if (seen.has(kind)) throw invalidMix(`'${match[1]}' given twice`);
    seen.add(kind);
    const proportion = Number(match[2]);
    if (!Number.isFinite(proportion)) throw invalidMix(`${match[1]}=${match[2]} is not a number`);
    mix[kind] = proportion;
  }
  validateMix(mix);
  return mix;
}

/** Every operation kind present, finite, >= 0, and the sum within MIX_SUM_TOLERANCE of 1. */
export function validateMix(mix: OperationMix): void {
  let sum = 0;
  for (const kind of OP_KINDS) {
    const proportion = mix[kind];
    if (typeof proportion !== 'number' || !Number.isFinite(proportion)) throw invalidMix(`${kind} must be a finite number, got ${String(proportion)}`);
    if (proportion < 0) throw invalidMix(`${kind} must not be negative, got ${proportion}`);
    sum += proportion;
  }
  const unknown = Object.keys(mix).filter((key) => !(OP_KINDS as readonly string[]).includes(key));
  if (unknown.length > 0) throw invalidMix(`unknown operation ${unknown.join(', ')}`);
  if (Math.abs(sum - 1) > MIX_SUM_TOLERANCE) throw invalidMix(`proportions sum to ${sum}, not 1`);
}
