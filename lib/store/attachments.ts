/**
 * The owner's side of attached stores (store.handle(), Store.attach): the
 * shared words (wire.ts AttachWord), and, per attached slot, a pair of rings
 * to every node thread, handed to the node (NodeLink.attachCoordinator) and to
 * the slot (AttachSnapshot) when the slot asks. Everything that changes where
 * requests go stays the owner's to do; the owner bumps the epoch after each
 * such change, and the attached stores reload their view before their next
 * request (attachment.ts). A membership change first holds the attached
 * stores' new requests and waits until theirs ended, as it waits for its own
 * (membership-change.ts: requests routed by the old ring end first).
 */
import { randomUUID } from 'node:crypto';
import { BroadcastChannel } from 'node:worker_threads';
import { ErrorCode, RingtableError } from '../errors.js';
import type { ResolvedOptions } from '../config/options.js';
import type { Ring } from '../ring/ring.js';
import { RingWriter, allocateRing } from '../transport/spsc-ring.js';
import { type NodeLink, SabNodeLink } from '../transport/node-link.js';
import { ATTACHED_MAX, ATTACH_STATE_BYTES, AttachWord, OwnerState, requestTagOf, slotWordOf } from '../transport/wire.js';
import type { AttachSnapshot, AttachedNode, StoreHandle, ToAttached, ToOwner } from './store-handle.js';

/** The owner's view the snapshots are made of. */
export interface AttachmentsHost {
  ring(): Ring;
  links(): readonly (NodeLink | undefined)[];
  downReason(nodeId: number): string | undefined;
  retired(): Iterable<number>;
  monotonicMs(): number;
  sleep(delayMs: number): Promise<void>;
  /** An attached store's due tombstone purge: the owner's coordinator schedules it as its own. */
  purge(key: string | Uint8Array, replicas: readonly number[], objectBytes: Uint8Array): void;
}

const ACK_POLL_MS = 1;

interface SlotRings {
  generation: number;
  /** By node id: the link the rings were handed to, and the rings. */
  nodes: Map<number, { link: NodeLink; requestRing: SharedArrayBuffer; responseRing: SharedArrayBuffer }>;
}

export class Attachments {
  private readonly words: Int32Array;
  private readonly stateBuffer = new SharedArrayBuffer(ATTACH_STATE_BYTES);
  private readonly channel: BroadcastChannel;
  private readonly channelName = `ringtable-attach-${randomUUID()}`;
  private readonly slots = new Map<number, SlotRings>();
  /** A number per node thread, so an attached slot sees when one was replaced. */
  private readonly generations = new WeakMap<NodeLink, number>();
  private generationNext = 1;

  constructor(
    private readonly options: ResolvedOptions,
    private readonly host: AttachmentsHost,
  ) {
    if (options.transport !== 'sab') throw new RingtableError(ErrorCode.INVALID_OPTIONS, "attached stores share the nodes' rings: they need transport 'sab'");
    this.words = new Int32Array(this.stateBuffer);
    this.channel = new BroadcastChannel(this.channelName);
    this.channel.onmessage = (event) => this.onMessage((event as unknown as { data: ToOwner }).data);
    // The attached stores' threads keep theirs alive; the owner's process may end whenever its application does.
    this.channel.unref();
  }

  handle(): StoreHandle {
    const { resolve: _resolve, ...options } = this.options;
    return { channel: this.channelName, state: this.stateBuffer, options };
  }

  /** Attached slots claimed now. */
  get attachedCount(): number {
    let count = 0;
    for (let slot = 1; slot <= ATTACHED_MAX; slot++) if ((Atomics.load(this.words, slotWordOf(slot, AttachWord.CLAIM)) & 1) === 1) count++;
    return count;
  }

  /** Something attached stores route by changed (a node crashed, stopped, started; the ring): they reload before their next request. */
  changed(): void {
    this.reap();
    Atomics.add(this.words, AttachWord.EPOCH, 1);
    Atomics.notify(this.words, AttachWord.EPOCH);
  }

  /** Closes the rings of slots given back without a detach message (a thread that ended without close: attachment.ts releaseAtExit). */
  reap(): void {
    for (const [slot, rings] of this.slots) {
      if (Atomics.load(this.words, slotWordOf(slot, AttachWord.CLAIM)) === rings.generation * 2 + 1) continue;
      for (const held of rings.nodes.values()) closeRings(held.requestRing, held.responseRing);
      this.slots.delete(slot);
    }
  }

  /**
   * Run a membership change with the attached stores held: new requests of
   * theirs wait, and the change starts once each acknowledged that its
   * requests ended (or after twice the request timeout: a request has ended
   * by its deadline, and a thread that stopped without closing never answers).
   */
  async duringChange<T>(change: () => Promise<T>): Promise<T> {
    Atomics.store(this.words, AttachWord.CHANGING, 1);
    this.changed();
    const epoch = Atomics.load(this.words, AttachWord.EPOCH);
    const giveUpMs = this.host.monotonicMs() + 2 * this.options.timeoutMs;
    while (!this.allAcknowledged(epoch) && this.host.monotonicMs() < giveUpMs) await this.host.sleep(ACK_POLL_MS);
    try {
      return await change();
    } finally {
      Atomics.store(this.words, AttachWord.CHANGING, 0);
      this.changed();
    }
  }

  private allAcknowledged(epoch: number): boolean {
    for (let slot = 1; slot <= ATTACHED_MAX; slot++) {
      if ((Atomics.load(this.words, slotWordOf(slot, AttachWord.CLAIM)) & 1) === 0) continue;
      if (Atomics.load(this.words, slotWordOf(slot, AttachWord.ACK)) < epoch) return false;
    }
    return true;
  }

  /** The owner closes: attached stores fail their requests with ERR_CLOSED, and the nodes drop their rings. */
  close(): void {
    Atomics.store(this.words, AttachWord.OWNER, OwnerState.CLOSED);
    this.changed();
    for (const slot of this.slots.values()) for (const rings of slot.nodes.values()) closeRings(rings.requestRing, rings.responseRing);
    this.slots.clear();
    this.channel.close();
  }

  private onMessage(message: ToOwner): void {
    if (message.type === 'detach') return this.detach(message.slot, message.generation);
    if (message.type === 'purge') return this.host.purge(message.key, message.replicas, message.objectBytes);
    if (message.type !== 'state') return; // another attached store's, or an answer
    const claim = Atomics.load(this.words, slotWordOf(message.slot, AttachWord.CLAIM));
    if (claim !== message.generation * 2 + 1) {
      this.post({ type: 'refused', slot: message.slot, nonce: message.nonce, message: `attached slot ${message.slot} is not claimed by generation ${message.generation}` });
      return;
    }
    this.post({ type: 'snapshot', slot: message.slot, nonce: message.nonce, snapshot: this.snapshot(message.slot, message.generation) });
  }

  private post(message: ToAttached): void {
    this.channel.postMessage(message);
  }

  /** Rings for every node thread (new ones for threads started since), the ring, and what is down, as of now. */
  private snapshot(slot: number, generation: number): AttachSnapshot {
    let rings = this.slots.get(slot);
    if (rings === undefined || rings.generation !== generation) {
      if (rings !== undefined) for (const old of rings.nodes.values()) closeRings(old.requestRing, old.responseRing);
      rings = { generation, nodes: new Map() };
      this.slots.set(slot, rings);
    }
    const nodes: AttachedNode[] = [];
    for (const link of this.host.links()) {
      if (!(link instanceof SabNodeLink)) continue;
      let held = rings.nodes.get(link.nodeId);
      if (held === undefined || held.link !== link) {
        if (held !== undefined) closeRings(held.requestRing, held.responseRing);
        held = { link, requestRing: allocateRing(this.options.ringBytes), responseRing: allocateRing(this.options.ringBytes) };
        rings.nodes.set(link.nodeId, held);
        link.attachCoordinator(slot, requestTagOf(slot, generation), held.requestRing, held.responseRing);
      }
      nodes.push({
        nodeId: link.nodeId,
        generation: this.generationOf(link),
        requestRing: held.requestRing,
        responseRing: held.responseRing,
        doorbellRing: link.requestRing,
        statsBuffer: link.stats.buffer as SharedArrayBuffer,
        down: this.host.downReason(link.nodeId) ?? link.failed?.message,
      });
    }
    return { epoch: Atomics.load(this.words, AttachWord.EPOCH), ring: this.host.ring().toJSON(), retired: [...this.host.retired()], nodes };
  }

  private generationOf(link: NodeLink): number {
    let generation = this.generations.get(link);
    if (generation === undefined) this.generations.set(link, (generation = this.generationNext++));
    return generation;
  }

  /** An attached store closed: its rings go, and its slot is free for the next claim (a new generation). */
  private detach(slot: number, generation: number): void {
    const word = slotWordOf(slot, AttachWord.CLAIM);
    if (Atomics.load(this.words, word) !== generation * 2 + 1) return;
    const rings = this.slots.get(slot);
    if (rings !== undefined && rings.generation === generation) {
      for (const held of rings.nodes.values()) closeRings(held.requestRing, held.responseRing);
      this.slots.delete(slot);
    }
    Atomics.store(this.words, slotWordOf(slot, AttachWord.ACK), 0);
    Atomics.store(this.words, word, (generation + 1) * 2);
  }
}

/** Set CLOSED on both rings (wire.ts): the node drops them and never waits for room in them. */
function closeRings(requestRing: SharedArrayBuffer, responseRing: SharedArrayBuffer): void {
  new RingWriter(requestRing).close();
  new RingWriter(responseRing).close();
}
