/**
 * The Store's plumbing for many coordinators (README, "Many coordinators"):
 * opening an attached store from an owner's handle (its slot, its rings to
 * the owner's node threads, the owner's ring; attachment.ts), and the
 * owner's view that its handle() shares (attachments.ts).
 */
import type { ResolvedOptions } from '../config/options.js';
import { Ring } from '../ring/ring.js';
import type { NodeLink } from '../transport/node-link.js';
import { requestTagOf } from '../transport/wire.js';
import { Attachment } from './attachment.js';
import { Attachments } from './attachments.js';
import type { Coordinator } from './coordinator.js';
import { type NodeHost, attachedLink, attachmentTimers } from './node-host.js';
import type { AttachOptions, StoreHandle } from './store-handle.js';

/** What an attached store is built from: the owner's options, ring and retired ids, and links over this slot's rings. */
export interface AttachedParts {
  options: ResolvedOptions;
  ring: Ring;
  links: NodeLink[];
  retired: readonly number[];
  attachment: Attachment;
}

/** The store built from AttachedParts, and what its attachment follows the owner with. */
export interface AttachedStore<S> {
  store: S;
  host: NodeHost;
  coordinator: Coordinator;
  /** The owner closed: close this store. */
  close(): void;
}

/** Claim a slot, take the owner's snapshot, build the store on it (`build`), and follow the owner from then on. */
export async function attachStore<S>(handle: StoreHandle, options: AttachOptions | undefined, build: (parts: AttachedParts) => AttachedStore<S>): Promise<S> {
  const { attachment, snapshot } = await Attachment.connect(handle, attachmentTimers);
  try {
    const resolved: ResolvedOptions = { ...handle.options, resolve: options?.resolve };
    const tag = requestTagOf(attachment.slot, attachment.generation);
    const linkOf = (node: (typeof snapshot.nodes)[number]) => attachedLink(resolved, { ...node, tag });
    const links: NodeLink[] = [];
    for (const node of snapshot.nodes) links[node.nodeId] = linkOf(node);
    const built = build({ options: resolved, ring: Ring.fromJSON(snapshot.ring), links, retired: snapshot.retired, attachment });
    attachment.bind({ host: built.host, coordinator: built.coordinator, n: resolved.n, linkOf, ownerClosed: built.close }, snapshot);
    return built.store;
  } catch (error) {
    attachment.close();
    throw error;
  }
}

/** The owner's side of the stores attached to it, over its coordinator's ring and its host's nodes. */
export function ownerAttachments(options: ResolvedOptions, coordinator: Coordinator, host: NodeHost): Attachments {
  return new Attachments(options, {
    ring: () => coordinator.ring,
    links: () => host.links,
    downReason: (nodeId) => host.downReasons[nodeId],
    retired: () => host.retired,
    monotonicMs: () => host.monotonicMs(),
    sleep: (delayMs) => host.sleep(delayMs),
    purge: (key, replicas, objectBytes) => coordinator.purgeForAttached(key, replicas, objectBytes),
  });
}
