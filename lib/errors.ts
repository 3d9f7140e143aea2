/**
 * Every error a user of ringtable can see is a RingtableError with a stable
 * `code`. Codes are part of the public API: never rename one, only add.
 * Programmer errors inside ringtable (broken invariants) use node:assert
 * instead, so they are not confused with users' mistakes.
 */
export const ErrorCode = {
  /** Key empty, of the wrong type, or longer than `keyBytesMax`. */
  INVALID_KEY: 'ERR_INVALID_KEY',
  /** Value not serialisable, or larger than `valueBytesMax` once encoded. */
  INVALID_VALUE: 'ERR_INVALID_VALUE',
  /** Store or call options out of range (for example r > n, n > nodes). */
  INVALID_OPTIONS: 'ERR_INVALID_OPTIONS',
  /** The call conflicts with the store's state right now (a node already up, another change to that node or to the membership running): retry once that ended. */
  INVALID_STATE: 'ERR_INVALID_STATE',
  /** Fewer than R (or W) replicas answered successfully. */
  QUORUM: 'ERR_QUORUM',
  /** The quorum was not reached within `timeoutMs`. */
  TIMEOUT: 'ERR_TIMEOUT',
  /** More requests pending than `pendingMax`: the caller must slow down. */
  OVERLOADED: 'ERR_OVERLOADED',
  /** The store is closed or closing. */
  CLOSED: 'ERR_CLOSED',
  /** An opaque context that ringtable did not produce, or that is corrupt. */
  INVALID_CONTEXT: 'ERR_INVALID_CONTEXT',
  /** A storage node failed (LMDB error, worker exit). */
  NODE_FAILED: 'ERR_NODE_FAILED',
  /** A leader-ordered write's `expect` did not hold at the leader (details.current: the version found, or 'absent'). */
  CONFLICT: 'ERR_CONFLICT',
  /** The store's `resolve` option threw while choosing a value among siblings; `cause` is what it threw. */
  RESOLVE: 'ERR_RESOLVE',
  /** A write refused by the key's replicas because its siblings would exceed their size bound: resolve them with a put carrying their context. */
  SIBLINGS_FULL: 'ERR_SIBLINGS_FULL',
  /** A file the store keeps beside its data (ring.json, membership.json) cannot be read or parsed. */
  CORRUPT: 'ERR_CORRUPT',
  /** The store's directory is open in another Store, in this process or another one. */
  IN_USE: 'ERR_IN_USE',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface QuorumDetails {
  /** Replicas that answered successfully before the request ended. */
  answered: number;
  /** Answers the request needed (R or W). */
  required: number;
  /** Replicas the request was sent to. */
  contacted: number;
}

/**
 * ERR_CONFLICT's details: what the leader holds instead of what writeOrdered
 * expected (with the write's quorum counts, so `details` keeps one shape).
 */
export interface ConflictDetails extends QuorumDetails {
  /** The key's current version (an OrderedVersion), or 'absent' when it has no live value. */
  current: string;
}

export class RingtableError extends Error {
  readonly code: ErrorCode;
  readonly details: QuorumDetails | ConflictDetails | undefined;

  constructor(code: ErrorCode, message: string, details?: QuorumDetails | ConflictDetails, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RingtableError';
    this.code = code;
    this.details = details;
  }
}
