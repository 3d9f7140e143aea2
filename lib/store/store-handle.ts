/**
 * What passes between a Store and the stores attached to it in other threads
 * (attachments.ts on the owner's side, attachment.ts on theirs): the handle,
 * structured-cloneable (postMessage, a piscina task), and the messages on
 * the owner's BroadcastChannel. Layouts of the shared words: transport/wire.ts.
 */
import type { ResolvedOptions } from '../config/options.js';
import type { RingJSON } from '../ring/ring.js';

/**
 * `store.handle()`: enough to attach from any thread of this process. Plain
 * data and SharedArrayBuffers only; options without `resolve` (a function does
 * not clone: pass one to Store.attach).
 */
export interface StoreHandle {
  /** The owner's BroadcastChannel: attached stores ask it for rings and the ring. */
  readonly channel: string;
  /** The shared words (wire.ts AttachWord): epoch, owner state, membership change, slots. */
  readonly state: SharedArrayBuffer;
  readonly options: Omit<ResolvedOptions, 'resolve'>;
}

/** Store.attach's options: what the handle cannot carry. */
export interface AttachOptions {
  /** Sibling resolution for this attached store's gets (StoreOptions.resolve). */
  resolve?: ResolvedOptions['resolve'];
}

/** One node as an attached slot sees it: its rings to it, and whether the owner holds it down. */
export interface AttachedNode {
  nodeId: number;
  /** Changes whenever the owner started a new thread for the node (startNode, addNode): new rings. */
  generation: number;
  requestRing: SharedArrayBuffer;
  responseRing: SharedArrayBuffer;
  doorbellRing: SharedArrayBuffer;
  statsBuffer: SharedArrayBuffer;
  /** Why the owner holds it down (crashed, stopped, failed); undefined while up. */
  down: string | undefined;
}

/** The owner's answer to a slot's 'state' request: what routing needs, as of `epoch`. */
export interface AttachSnapshot {
  epoch: number;
  ring: RingJSON;
  retired: number[];
  nodes: AttachedNode[];
}

export type ToOwner =
  | { type: 'state'; slot: number; generation: number; nonce: number }
  | { type: 'detach'; slot: number; generation: number }
  /** A tombstone an attached store wrote is due: its owner, which sweeps, decides when to purge it (purge-rule.ts). */
  | { type: 'purge'; key: string | Uint8Array; replicas: number[]; objectBytes: Uint8Array };
export type ToAttached = { type: 'snapshot'; slot: number; nonce: number; snapshot: AttachSnapshot } | { type: 'refused'; slot: number; nonce: number; message: string };
