/**
 * Dropping a space on one node (DESIGN.md §5 dropSpace): Op.DROP_SPACE removes
 * a bounded number of its keys (and hints) per request, in one transaction,
 * without a tombstone per key (spaces are never reused); the coordinator asks
 * again while the node says more remain.
 */
import { Op, Status, encodeDropSpace, requestOf } from '../transport/wire.js';
import type { Send } from './coordinator-host.js';

/** Keys removed per request: one bounded transaction each. */
export const DROP_KEYS_PER_REQUEST = 4096;
const EMPTY = new Uint8Array(0);

/** Resolves true once `node` holds nothing of `space`, false if it failed (it drops the space when it starts). */
export async function dropSpaceOn(send: Send, node: number, space: number): Promise<boolean> {
  const request = encodeDropSpace(space, DROP_KEYS_PER_REQUEST);
  for (;;) {
    const more = await new Promise<boolean | undefined>((resolve) => {
      send(node, requestOf(Op.DROP_SPACE, EMPTY, request), {
        onReply: (_target, status, bytes, _view, at, length) => resolve(status === Status.OK && length >= 1 ? bytes[at] === 1 : undefined),
        onNodeFailure: () => resolve(undefined),
      }, 0);
    });
    if (more === undefined) return false;
    if (!more) return true;
  }
}
