/**
 * Every failed operation is counted by its stable error code (RingtableError
 * codes, ioredis/lmdb errors by their code or name), timeouts also on their
 * own: nothing is dropped, and the run goes on after an error.
 */
import { ErrorCode } from '../../lib/index.js';
import type { ErrorTally } from './bench-report.js';

/** A read answered with a value of the wrong size: a wrong answer, counted as an error. */
export const WRONG_VALUE = 'ERR_BENCH_WRONG_VALUE';

/** Codes are open-ended (other libraries' errors): bounded so a flood of distinct messages cannot grow the tally. */
const CODES_MAX = 64;
const OTHER = 'other';

export function errorCodeOf(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && code.length > 0) return code;
    const name = (error as { name?: unknown }).name;
    if (typeof name === 'string' && name.length > 0) return name;
  }
  return 'unknown';
}

export function isTimeout(code: string): boolean {
  return code === ErrorCode.TIMEOUT || code === 'ETIMEDOUT';
}

export class ErrorCounter {
  private readonly byCode = new Map<string, number>();
  private totalCount = 0;
  private timeoutCount = 0;

  add(code: string): void {
    this.totalCount++;
    if (isTimeout(code)) this.timeoutCount++;
    const key = this.byCode.has(code) || this.byCode.size < CODES_MAX ? code : OTHER;
    this.byCode.set(key, (this.byCode.get(key) ?? 0) + 1);
  }

  get total(): number {
    return this.totalCount;
  }

  tally(): ErrorTally {
    return { total: this.totalCount, timeouts: this.timeoutCount, byCode: Object.fromEntries(this.byCode) };
  }
}
