/**
 * Anti-entropy for the healed cluster (Dynamo §4.7), key by key: every key
 * stored on a node of the ring is compared across its preference list, and
 * the merge of its replicas (DVVSet sync) is pushed by REPLICATE to each
 * replica that differs. Comparing stored versions directly stands in for a
 * Merkle-tree exchange (lib/anti-entropy/merkle-tree.ts, on branch
 * `antientropy`), which finds the same differing keys with less traffic;
 * the repair itself goes through the real Replica either way.
 */
import { hashKey32 } from '../../lib/ring/hash.js';
import { preferenceList } from '../../lib/ring/preference-list.js';
import { Op, Status } from '../../lib/transport/wire.js';
import { type VersionedObject, sync } from '../../lib/version/dotted-version-vector.js';
import { decodeObject, encodeObject } from '../../lib/version/object-codec.js';
import type { World } from './world.js';

/** Push merged versions to every replica that differs; returns how many pushes were sent. */
export function repairAll(world: World): number {
  const ring = world.coordinator.ring;
  const keys = new Set<string>();
  for (const node of ring.nodeIds()) for (const key of world.nodes.get(node)?.engine.keys() ?? []) keys.add(key);
  let pushes = 0;
  for (const key of [...keys].sort()) {
    const keyBytes = Buffer.from(key, 'latin1');
    const replicas = preferenceList(ring, ring.partitionOf(hashKey32(keyBytes)), world.n);
    const stored = replicas.map((node) => world.nodes.get(node)?.engine.getText(key));
    let merged: VersionedObject | undefined;
    for (const bytes of stored) {
      if (bytes !== undefined) merged = merged === undefined ? decodeObject(bytes) : sync(merged, decodeObject(bytes));
    }
    if (merged === undefined) continue;
    const mergedBytes = encodeObject(merged);
    replicas.forEach((node, i) => {
      const bytes = stored[i];
      if (bytes !== undefined && Buffer.compare(encodeObject(decodeObject(bytes)), mergedBytes) === 0) return;
      pushes++;
      if (world.trace.enabled) world.trace.log(`repair: ${key} -> n${node}`);
      const attempt = (): void => {
        world.host.sendBackground(node, Op.REPLICATE, keyBytes, mergedBytes, (status) => {
          if (status !== Status.OK) world.queue.after(world.retryMs, attempt);
        });
      };
      attempt();
    });
  }
  return pushes;
}
