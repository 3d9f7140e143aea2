/**
 * A caller's read or write on its way from the Store's public API to the
 * coordinator (Dynamo §4.5: the request a client hands a coordinator): its
 * key, value and options checked, admitted (ERR_OVERLOADED beyond
 * pendingMax), and started on the coordinator with a promise for its answer.
 * In an attached store (Store.attach) each call first follows the owner
 * (attachment.ts call).
 */
import { ErrorCode, RingtableError } from '../errors.js';
import { type ResolvedOptions, readQuorumFor, writeQuorumFor } from '../config/options.js';
import type { WireKey } from '../transport/wire.js';
import type { Attachment } from './attachment.js';
import { type Coordinator, LATER, NOT_IN_PLACE } from './coordinator.js';
import { CacheUse, type RejectGet, type ResolveGet, getCallbackOf } from './in-place-get.js';
import { type PutRequest, requestBytesOf } from './operations.js';
import type { GetResult } from './get-result.js';
import { type PutManyItems, putManyItems } from './put-many-items.js';
import { putRequest } from './put-request.js';
import type { GetOptions, PutManyEntry, PutOptions } from './store-types.js';
import { type Key, checkKey, ownKey } from './value-codec.js';

/** A promise's resolve and reject, captured by one shared executor (it runs synchronously in `new Promise`); taken right after. */
let resolveCaptured: ResolveGet | undefined;
let rejectCaptured: RejectGet | undefined;
function capturePromiseFunctions(resolve: ResolveGet, reject: RejectGet): void {
  resolveCaptured = resolve;
  rejectCaptured = reject;
}

export class ClientRequests {
  constructor(
    private readonly options: ResolvedOptions,
    private readonly coordinator: Coordinator,
    /** An attached store's side, or undefined in the owner. */
    private readonly attachment: Attachment | undefined,
    /** Throws ERR_CLOSED unless the store is open. */
    private readonly assertOpen: () => void,
  ) {}

  /** A put or delete: resolves with the coordinating node's object once W replicas acknowledged. */
  write(key: Key, value: unknown, options: PutOptions | undefined, flags: number): Promise<Uint8Array | undefined> {
    if (this.attachment === undefined) return this.writeNow(key, value, options, flags);
    return this.attachment.callTaking(
      () => this.writeNow(key, value, options, flags),
      () => this.writeRequest(key, value, options, flags),
      (request) => this.startWrite(request, options),
    );
  }

  private writeNow(key: Key, value: unknown, options: PutOptions | undefined, flags: number): Promise<Uint8Array | undefined> {
    return this.startWrite(this.writeRequest(key, value, options, flags), options);
  }

  /** The write's request: its key copied and its value encoded (throws when refused). */
  private writeRequest(key: Key, value: unknown, options: PutOptions | undefined, flags: number): PutRequest {
    this.assertOpen();
    // Admission first: under overload, a refused call must not pay for encoding (finding 9 of issue 9).
    this.coordinator.admit(1);
    return putRequest(key, value, options, flags, this.options, this.coordinator);
  }

  private startWrite(request: PutRequest, options: PutOptions | undefined): Promise<Uint8Array | undefined> {
    return new Promise<Uint8Array | undefined>((resolve, reject) => {
      this.coordinator.admit(1, requestBytesOf(request));
      this.coordinator.startPut(request, writeQuorumFor(this.options, options), (error, bytes) => (error ? reject(error) : resolve(bytes)), 0);
    });
  }

  read(key: Key, options: GetOptions | undefined): Promise<GetResult | undefined> {
    if (this.attachment === undefined) return this.readNow(key, options);
    return this.attachment.callTaking(
      () => this.readNow(key, options),
      () => {
        checkKey(key, this.options.keyBytesMax);
        return ownKey(key);
      },
      (owned) => this.readNow(owned, options),
    );
  }

  /** A refused call rejects (never throws): Store.get is not an async function, so that a read answered in place costs one promise. */
  private readNow(key: Key, options: GetOptions | undefined): Promise<GetResult | undefined> {
    let r: number;
    try {
      this.assertOpen();
      checkKey(key, this.options.keyBytesMax);
      r = readQuorumFor(this.options, options);
      this.coordinator.admit(1);
    } catch (error) {
      return Promise.reject(error);
    }
    const cacheable = options?.consistent !== true;
    // An R = 1 get read in place is over before this returns, and keeps nothing of its key: a byte key is copied
    // only for a get that waits or is sent. (R >= 2 may keep the key it declined: getAgreeingInPlace's divergentKey.)
    const seen = r === 1 ? key : ownKey(key);
    const now = this.coordinator.getInPlace(seen, cacheable ? CacheUse.LOOK_UP : CacheUse.NONE, r);
    if (now !== NOT_IN_PLACE && now !== LATER) return Promise.resolve(now);
    const owned = r === 1 ? ownKey(key) : seen;
    // The promise's functions themselves wait with the get: no executor or callback made per get
    // (most gets of a busy turn wait for the next, direct-reads.ts), and readNow holds no context for them.
    const promise = new Promise<GetResult | undefined>(capturePromiseFunctions);
    const resolve = resolveCaptured!;
    const reject = rejectCaptured!;
    resolveCaptured = undefined;
    rejectCaptured = undefined;
    if (now === LATER) this.coordinator.getLater(owned, cacheable, resolve, reject, r, seen);
    else this.coordinator.startGet(owned, r, getCallbackOf(resolve, reject), 0, cacheable);
    return promise;
  }

  putMany(entries: readonly PutManyEntry[], options?: { w?: number }): Promise<void> {
    if (this.attachment === undefined) return this.putManyNow(entries, options);
    return this.attachment.callTaking(
      () => this.putManyNow(entries, options),
      () => this.putManyItems(entries, options),
      (items) => this.coordinator.putMany(items),
    );
  }

  private async putManyNow(entries: readonly PutManyEntry[], options?: { w?: number }): Promise<void> {
    return this.coordinator.putMany(this.putManyItems(entries, options));
  }

  /** A putMany's items: every entry checked, its key copied and its value encoded (put-many-items.ts), before any is sent. */
  private putManyItems(entries: readonly PutManyEntry[], options: { w?: number } | undefined): PutManyItems {
    this.assertOpen();
    if (!Array.isArray(entries)) throw new RingtableError(ErrorCode.INVALID_OPTIONS, 'putMany takes an array of [key, value, options?]');
    if (entries.length > 0) this.coordinator.admit(1);
    return putManyItems(entries, options, this.options, this.coordinator, this.coordinator.putManyWriter, this.coordinator.slabChunks);
  }

  getMany(callerKeys: readonly Key[], options?: GetOptions): Promise<(GetResult | undefined)[]> {
    if (this.attachment === undefined) return this.getManyNow(callerKeys, options);
    return this.attachment.callTaking(
      () => this.getManyNow(callerKeys, options),
      () => {
        if (!Array.isArray(callerKeys)) throw new RingtableError(ErrorCode.INVALID_OPTIONS, 'getMany takes an array of keys');
        return callerKeys.map((key) => {
          checkKey(key, this.options.keyBytesMax);
          return ownKey(key);
        });
      },
      (owned) => this.getManyNow(owned, options),
    );
  }

  private async getManyNow(callerKeys: readonly Key[], options?: GetOptions): Promise<(GetResult | undefined)[]> {
    this.assertOpen();
    if (!Array.isArray(callerKeys)) throw new RingtableError(ErrorCode.INVALID_OPTIONS, 'getMany takes an array of keys');
    const r = readQuorumFor(this.options, options);
    // The caller's keys, unchecked: the coordinator checks them (a batch of R = 1 a chunk at a time, as it reads them)
    // and owns (copies) those it still holds once this call returns.
    return this.coordinator.getMany(callerKeys as readonly WireKey[], r, this.options.keyBytesMax);
  }
}
