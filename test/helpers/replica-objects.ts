/**
 * Objects handed to, and read from, one replica of a real Store: a REPLICATE
 * or a GET through the coordinator's link to that node, as read repair and
 * handoff send them. For tests that need replicas to hold versions the store
 * would take many restarts or races to make. Not a *.test.ts.
 */
import type { Store } from '../../lib/index.js';
import type { Coordinator } from '../../lib/store/coordinator.js';
import { Op, Status, copyBytes, requestOf } from '../../lib/transport/wire.js';
import type { VersionedObject } from '../../lib/version/dotted-version-vector.js';
import { decodeObject, encodeObject } from '../../lib/version/object-codec.js';

function coordinatorOf(store: Store): Coordinator {
  return (store as unknown as { coordinator: Coordinator }).coordinator;
}

/** A REPLICATE of `object` to `node`: 'OK', or the node's error text. */
export function replicateTo(store: Store, node: number, key: string, object: VersionedObject): Promise<string> {
  return new Promise((resolve) => {
    coordinatorOf(store).send(node, requestOf(Op.REPLICATE, key, encodeObject(object)), {
      onReply: (_n, status, bytes, _v, at, length) => resolve(status === Status.OK ? 'OK' : new TextDecoder().decode(bytes.subarray(at, at + length))),
      onNodeFailure: (_n, error) => resolve(`failed: ${error.message}`),
    }, 0);
  });
}

/** What `node` stores for `key`. */
export function storedAt(store: Store, node: number, key: string): Promise<VersionedObject | undefined> {
  return new Promise((resolve, reject) => {
    coordinatorOf(store).send(node, requestOf(Op.GET, key, undefined), {
      onReply: (_n, status, bytes, _v, at, length) => resolve(status === Status.OK ? decodeObject(copyBytes(bytes, at, at + length)) : undefined),
      onNodeFailure: (_n, error) => reject(error),
    }, 0);
  });
}
