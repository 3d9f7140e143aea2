/**
 * The key chooser for a workload's request distribution, built as YCSB's
 * CoreWorkload.init builds its `keychooser`.
 */
import { ErrorCode, RingtableError } from '../../lib/errors.js';
import type { WorkloadConfig } from './bench-report.js';
import { HotspotGenerator } from './hotspot.js';
import type { KeyChooser } from './key-chooser.js';
import { LatestGenerator } from './latest.js';
import { ScrambledZipfianGenerator } from './scrambled-zipfian.js';
import { UniformGenerator } from './uniform.js';
import { ZipfianGenerator } from './zipfian.js';

/**
 * Items of the zipfian key choosers: YCSB sizes its scrambled zipfian for
 * the records plus twice the expected inserts ("2 is fudge factor"), max
 * inclusive, and redraws keys not inserted yet, so popularity does not move
 * as keys are inserted.
 */
export function zipfianItemCount(config: WorkloadConfig, operationCount = config.operationCount): number {
  const expectedNewKeys = Math.floor(operationCount * config.mix.insert * 2);
  return config.recordCount + expectedNewKeys + 1;
}

export function keyChooserFor(config: WorkloadConfig, operationCount = config.operationCount): KeyChooser {
  switch (config.distribution) {
    case 'uniform':
      return new UniformGenerator();
    case 'zipfian':
      return new ZipfianGenerator(zipfianItemCount(config, operationCount), config.theta);
    case 'scrambled-zipfian':
      return new ScrambledZipfianGenerator(zipfianItemCount(config, operationCount), config.theta);
    case 'hotspot':
      return new HotspotGenerator(config.hotspotDataFraction, config.hotspotOpFraction);
    case 'latest':
      return new LatestGenerator(config.recordCount, config.theta);
    default:
      throw new RingtableError(ErrorCode.INVALID_OPTIONS, `unknown request distribution '${String(config.distribution)}'`);
  }
}
