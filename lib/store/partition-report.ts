/**
 * What `store.partitions()` reports of each ring partition: its preference
 * list (Dynamo §4.3) and its leader for leader-ordered keys as the
 * coordinator's PartitionLeaders holds it (partition-leaders.ts). Pure: the
 * ring and the leaderships are passed in.
 */
import { preferenceList } from '../ring/preference-list.js';
import type { Ring } from '../ring/ring.js';
import type { PartitionLeaders } from './partition-leaders.js';
import type { PartitionInfo } from './store-types.js';

export function partitionInfos(ring: Ring, n: number, leaders: PartitionLeaders): PartitionInfo[] {
  return Array.from({ length: ring.partitionCount }, (_, partition) => {
    const leadership = leaders.get(partition);
    return {
      partition,
      replicas: preferenceList(ring, partition, n),
      leader: leadership === undefined ? undefined : { node: leadership.leader, term: leadership.term, ready: leadership.ready },
    };
  });
}
