/**
 * Checks of the options callers pass, shared by every layer that takes some
 * (config/options.ts, anti-entropy/): a wrong one is ERR_INVALID_OPTIONS.
 */
import { ErrorCode, RingtableError } from './errors.js';

/** An optional integer option in [min, max], or its fallback; ERR_INVALID_OPTIONS otherwise. */
export function integer(name: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new RingtableError(ErrorCode.INVALID_OPTIONS, `${name} must be an integer in ${min}..${max}, got ${String(value)}`);
  }
  return value;
}
