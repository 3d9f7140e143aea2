/**
 * Every value a target reads back is checked for its size: a read that
 * returns the wrong bytes is a wrong answer, counted as an error, not a
 * success.
 */
import { WRONG_VALUE } from '../error-tally.js';

export class WrongValueError extends Error {
  readonly code = WRONG_VALUE;
}

/** 0 when `value` is a record of `valueBytes` bytes, 1 when it is missing; throws when it is something else. */
export function missingOrChecked(value: unknown, valueBytes: number): number {
  if (value === undefined || value === null) return 1;
  if (!(value instanceof Uint8Array) || value.byteLength !== valueBytes) {
    const size = value instanceof Uint8Array ? `${value.byteLength} bytes` : typeof value;
    throw new WrongValueError(`read returned ${size}, expected ${valueBytes} bytes`);
  }
  return 0;
}
