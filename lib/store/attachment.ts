/**
 * An attached store's side (Store.attach): it claims a slot in the owner's
 * shared words (wire.ts AttachWord), asks the owner over its BroadcastChannel
 * for a snapshot (its own rings to every node thread, the ring, what is
 * down), and coordinates on it in its own thread. It follows the owner: a
 * request checks the shared epoch first (one atomic load) and, when the owner
 * changed something since the snapshot, waits for a new one; while the owner
 * changes membership, new requests wait and the slot acknowledges once its
 * requests ended. When the owner closes, every request fails with ERR_CLOSED.
 * The owner side is attachments.ts.
 */
import { BroadcastChannel } from 'node:worker_threads';
import { ErrorCode, RingtableError } from '../errors.js';
import { PreferenceListTable } from '../ring/preference-list.js';
import { Ring } from '../ring/ring.js';
import type { NodeLink } from '../transport/node-link.js';
import { ATTACHED_MAX, AttachWord, OwnerState, slotWordOf } from '../transport/wire.js';
import type { Coordinator } from './coordinator.js';
import type { AttachmentTimers, TimerHandle } from './coordinator-host.js';
import type { NodeHost } from './node-host.js';
import type { AttachSnapshot, AttachedNode, StoreHandle, ToAttached, ToOwner } from './store-handle.js';

/** How long attaching, or a reload, waits for the owner's thread to answer (it answers from its event loop). */
const OWNER_ANSWER_MS_MIN = 5_000;
const DRAIN_POLL_MS = 1;

/** What an attached store lends its attachment: the parts a snapshot changes. */
export interface AttachTarget {
  host: NodeHost;
  coordinator: Coordinator;
  n: number;
  /** A link over the rings the owner handed this slot for `node`. */
  linkOf(node: AttachedNode): NodeLink;
  /** The owner closed: close this store too. */
  ownerClosed(): void;
}

interface Waiter {
  resolve(): void;
  reject(error: Error): void;
  timer: TimerHandle;
}

/** What only the owner may do: an attached store refuses it (README, "Many coordinators"). */
export function refuseAttached(attachment: Attachment | undefined, what: string): void {
  if (attachment !== undefined) throw new RingtableError(ErrorCode.INVALID_STATE, `${what} is the owner store's to do: an attached store (Store.attach) only reads and writes`);
}

export class Attachment {
  private readonly words: Int32Array;
  private readonly channel: BroadcastChannel;
  private nonceNext = 1;
  private readonly asked = new Map<number, { resolve(snapshot: AttachSnapshot): void; reject(error: Error): void; timer: TimerHandle }>();
  private readonly answerMs: number;
  private appliedEpoch = -1;
  private ringJson = '';
  private readonly generations: number[] = [];
  /** The owner changes membership: new requests wait in `waiters` (bounded by pendingMax, each by timeoutMs). */
  private paused = false;
  private readonly waiters = new Set<Waiter>();
  private reloading: Promise<void> | undefined;
  private target: AttachTarget | undefined;
  private ownerGone = false;
  private closed = false;

  private constructor(
    readonly handle: StoreHandle,
    readonly slot: number,
    readonly generation: number,
    private readonly timers: AttachmentTimers,
  ) {
    this.words = new Int32Array(handle.state);
    this.answerMs = Math.max(OWNER_ANSWER_MS_MIN, handle.options.timeoutMs);
    this.channel = new BroadcastChannel(handle.channel);
    this.channel.onmessage = (event) => this.onMessage((event as unknown as { data: ToAttached }).data);
    this.channel.unref();
    openInThisThread.add(this);
    if (openInThisThread.size === 1) process.once('exit', releaseAtThreadExit);
  }

  /**
   * The thread ends without close (it returned, or called process.exit): no
   * message can leave it now, so the slot is given back in the shared words
   * directly, as the owner's detach would; the owner closes the slot's rings
   * when it next looks (Attachments.reap). A thread stopped by
   * worker.terminate() runs no exit hook: its slot stays claimed, and the
   * owner's membership changes wait for it at most twice the request timeout.
   */
  releaseAtExit(): void {
    Atomics.store(this.words, slotWordOf(this.slot, AttachWord.ACK), 0);
    Atomics.compareExchange(this.words, slotWordOf(this.slot, AttachWord.CLAIM), this.generation * 2 + 1, (this.generation + 1) * 2);
  }

  /** Claim a slot and take the owner's first snapshot. ERR_OVERLOADED when every slot is taken, ERR_CLOSED when the owner closed. */
  static async connect(handle: StoreHandle, timers: AttachmentTimers): Promise<{ attachment: Attachment; snapshot: AttachSnapshot }> {
    if (typeof handle?.channel !== 'string' || !(handle.state instanceof SharedArrayBuffer) || typeof handle.options !== 'object') {
      throw new RingtableError(ErrorCode.INVALID_OPTIONS, 'Store.attach takes what store.handle() returned');
    }
    const words = new Int32Array(handle.state);
    if (Atomics.load(words, AttachWord.OWNER) === OwnerState.CLOSED) throw new RingtableError(ErrorCode.CLOSED, 'the owner store is closed');
    const [slot, generation] = claimSlot(words);
    const attachment = new Attachment(handle, slot, generation, timers);
    try {
      return { attachment, snapshot: await attachment.ask() };
    } catch (error) {
      attachment.close();
      throw error;
    }
  }

  /** Follow the owner from now on: the first snapshot is applied by the store's construction. */
  bind(target: AttachTarget, snapshot: AttachSnapshot): void {
    this.target = target;
    this.ringJson = JSON.stringify(snapshot.ring);
    for (const node of snapshot.nodes) this.generations[node.nodeId] = node.generation;
    this.appliedEpoch = snapshot.epoch;
    this.apply(snapshot);
    this.watch();
    this.onEpoch();
  }

  /**
   * Run one call of the store once it routes as the owner does now; its
   * failure is ERR_CLOSED when the owner closed under it.
   */
  call<T>(start: () => Promise<T>): Promise<T> {
    if (this.routesNow()) {
      let started: Promise<T>;
      try {
        started = start();
      } catch (error) {
        return Promise.reject(this.mapped(error));
      }
      return started.catch((error: unknown) => {
        throw this.mapped(error);
      });
    }
    return this.whenCurrent().then(() => this.call(start));
  }

  /**
   * As call, for a call that takes the caller's keys or values: when the
   * store must first follow the owner, `take` runs at once, before the wait
   * (README: a key is copied and a value encoded when the call is made, so
   * the caller may reuse them as soon as the call returns), and `start` with
   * what it took once the store routes as the owner does. When no wait is
   * needed, `direct` runs as call runs it (it reads the caller's arguments
   * before it returns).
   */
  callTaking<A, T>(direct: () => Promise<T>, take: () => A, start: (taken: A) => Promise<T>): Promise<T> {
    if (this.routesNow()) return this.call(direct);
    let taken: A;
    try {
      taken = take();
    } catch (error) {
      return Promise.reject(this.mapped(error));
    }
    return this.call(() => start(taken));
  }

  private routesNow(): boolean {
    return !this.paused && !this.ownerGone && Atomics.load(this.words, AttachWord.EPOCH) === this.appliedEpoch;
  }

  private mapped(error: unknown): unknown {
    return this.ownerGone ? new RingtableError(ErrorCode.CLOSED, 'the owner store closed', undefined, { cause: error }) : error;
  }

  private whenCurrent(): Promise<void> {
    if (this.ownerGone || this.closed) return Promise.reject(new RingtableError(ErrorCode.CLOSED, this.ownerGone ? 'the owner store closed' : 'the store is closed'));
    if (this.paused || Atomics.load(this.words, AttachWord.CHANGING) === 1) return this.wait();
    return this.reload();
  }

  /** Wait for the owner's membership change to end, bounded like a request (timeoutMs) and in number (pendingMax). */
  private wait(): Promise<void> {
    const options = this.handle.options;
    if (this.waiters.size >= options.pendingMax) {
      return Promise.reject(new RingtableError(ErrorCode.OVERLOADED, `${options.pendingMax} requests already wait for the owner's membership change`));
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        timer: this.timers.setTimer(options.timeoutMs, () => {
          this.waiters.delete(waiter);
          reject(new RingtableError(ErrorCode.TIMEOUT, `the owner's membership change outlasted the request's ${options.timeoutMs} ms`));
        }),
      };
      this.waiters.add(waiter);
    });
  }

  private release(error?: Error): void {
    for (const waiter of this.waiters) {
      this.timers.clearTimer(waiter.timer);
      if (error === undefined) waiter.resolve();
      else waiter.reject(error);
    }
    this.waiters.clear();
  }

  /** One reload at a time: every request that found the epoch moved waits for the same snapshot. */
  private reload(): Promise<void> {
    return (this.reloading ??= this.ask()
      .then((snapshot) => {
        if (!this.closed && !this.ownerGone) this.apply(snapshot);
      })
      .finally(() => (this.reloading = undefined)));
  }

  /** The owner's view applied to this store's: the ring, new rings for restarted or added nodes, what is down. */
  private apply(snapshot: AttachSnapshot): void {
    const { host, coordinator, n, linkOf } = this.target!;
    const ringJson = JSON.stringify(snapshot.ring);
    if (ringJson !== this.ringJson) {
      const ring = Ring.fromJSON(snapshot.ring);
      coordinator.switchRing(ring, new PreferenceListTable(ring, n));
      this.ringJson = ringJson;
    }
    const present = new Set<number>();
    for (const node of snapshot.nodes) {
      present.add(node.nodeId);
      const link = host.links[node.nodeId];
      if (link === undefined || this.generations[node.nodeId] !== node.generation) {
        void link?.stop(); // its requests fail now: the thread they went to is gone
        host.links[node.nodeId] = linkOf(node);
        this.generations[node.nodeId] = node.generation;
        host.downReasons[node.nodeId] = undefined;
      }
      const reason = host.downReasons[node.nodeId];
      if (node.down !== undefined) host.markDown(node.nodeId, node.down);
      else if (reason !== undefined && !reason.startsWith('no heartbeat')) host.downReasons[node.nodeId] = undefined; // the owner's detector decides those
    }
    for (let nodeId = 0; nodeId < host.links.length; nodeId++) {
      if (host.links[nodeId] === undefined || present.has(nodeId)) continue;
      void host.links[nodeId]!.stop(); // removed from the store
      host.links[nodeId] = undefined;
    }
    for (const id of snapshot.retired) host.retired.add(id);
    this.appliedEpoch = snapshot.epoch;
  }

  /** Wake on every epoch the owner publishes (a pending Atomics.waitAsync keeps no thread alive). */
  private watch(): void {
    if (this.closed || this.ownerGone) return;
    const waited = Atomics.waitAsync(this.words, AttachWord.EPOCH, Atomics.load(this.words, AttachWord.EPOCH));
    const next = () => {
      this.onEpoch();
      this.watch();
    };
    if (waited.async) void waited.value.then(next);
    else this.timers.nextTurn(next);
  }

  private onEpoch(): void {
    if (this.closed || this.ownerGone) return;
    if (Atomics.load(this.words, AttachWord.OWNER) === OwnerState.CLOSED) return this.onOwnerClosed();
    if (Atomics.load(this.words, AttachWord.CHANGING) === 1) {
      if (!this.paused) {
        this.paused = true;
        void this.acknowledgeWhenDrained();
      }
      return;
    }
    if (!this.paused) return;
    this.paused = false;
    this.reload().then(
      () => this.release(),
      (error: Error) => this.release(error),
    );
  }

  /** Tell the owner this slot's requests ended, so its membership change may start (attachments.ts duringChange). */
  private async acknowledgeWhenDrained(): Promise<void> {
    const { coordinator, host } = this.target!;
    const giveUpMs = host.monotonicMs() + 2 * this.handle.options.timeoutMs;
    while (this.paused && coordinator.activeCount > 0 && host.monotonicMs() < giveUpMs) await host.sleep(DRAIN_POLL_MS);
    if (!this.paused) return;
    Atomics.store(this.words, slotWordOf(this.slot, AttachWord.ACK), Atomics.load(this.words, AttachWord.EPOCH));
  }

  private onOwnerClosed(): void {
    this.ownerGone = true;
    const closed = new RingtableError(ErrorCode.CLOSED, 'the owner store closed');
    this.release(closed);
    for (const pending of this.asked.values()) {
      this.timers.clearTimer(pending.timer);
      pending.reject(closed);
    }
    this.asked.clear();
    const { host, ownerClosed } = this.target!;
    for (let nodeId = 0; nodeId < host.links.length; nodeId++) if (host.links[nodeId] !== undefined) host.markDown(nodeId, 'the owner store closed');
    ownerClosed();
  }

  private ask(): Promise<AttachSnapshot> {
    const nonce = this.nonceNext++;
    return new Promise<AttachSnapshot>((resolve, reject) => {
      const timer = this.timers.setTimer(this.answerMs, () => {
        this.asked.delete(nonce);
        if (this.asked.size === 0) this.channel.unref();
        reject(new RingtableError(ErrorCode.TIMEOUT, `the owner store did not answer within ${this.answerMs} ms`));
      });
      this.asked.set(nonce, { resolve, reject, timer });
      this.channel.ref();
      this.post({ type: 'state', slot: this.slot, generation: this.generation, nonce });
    });
  }

  private onMessage(message: ToAttached): void {
    if ((message.type !== 'snapshot' && message.type !== 'refused') || message.slot !== this.slot) return;
    const pending = this.asked.get(message.nonce);
    if (pending === undefined) return;
    this.asked.delete(message.nonce);
    if (this.asked.size === 0) this.channel.unref();
    this.timers.clearTimer(pending.timer);
    if (message.type === 'snapshot') pending.resolve(message.snapshot);
    else pending.reject(new RingtableError(ErrorCode.INVALID_STATE, message.message));
  }

  private post(message: ToOwner): void {
    this.channel.postMessage(message);
  }

  /** A due purge of a tombstone this store wrote goes to the owner, which sweeps (Coordinator.sweepsElsewhere). */
  forwardPurge(key: string | Uint8Array, replicas: readonly number[], objectBytes: Uint8Array): void {
    if (this.closed || this.ownerGone) return; // the tombstone stays: only space
    this.post({ type: 'purge', key, replicas: [...replicas], objectBytes });
  }

  /** This store closed (after its requests ended): the owner frees the slot and its rings. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    openInThisThread.delete(this);
    if (openInThisThread.size === 0) process.off('exit', releaseAtThreadExit);
    this.release(new RingtableError(ErrorCode.CLOSED, 'the store is closed'));
    if (!this.ownerGone) this.post({ type: 'detach', slot: this.slot, generation: this.generation });
    this.channel.close();
  }
}

/** This thread's attachments not closed yet (at most ATTACHED_MAX): one exit hook serves them all. */
const openInThisThread = new Set<Attachment>();

function releaseAtThreadExit(): void {
  for (const attachment of openInThisThread) attachment.releaseAtExit();
  openInThisThread.clear();
}

/** The first free slot, claimed (CLAIM holds generation × 2, + 1 while claimed). */
function claimSlot(words: Int32Array): [slot: number, generation: number] {
  for (let slot = 1; slot <= ATTACHED_MAX; slot++) {
    const word = slotWordOf(slot, AttachWord.CLAIM);
    const claim = Atomics.load(words, word);
    if ((claim & 1) === 0 && Atomics.compareExchange(words, word, claim, claim + 1) === claim) return [slot, claim / 2];
  }
  throw new RingtableError(ErrorCode.OVERLOADED, `a store takes at most ${ATTACHED_MAX} attached stores at once`);
}
