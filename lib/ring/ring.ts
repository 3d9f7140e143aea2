/**
 * The consistent-hash ring, using Dynamo's partitioning strategy 3 (Dynamo
 * §6.2): the 32-bit hash space is cut into Q equal, fixed partitions and each
 * of the S physical nodes owns about Q/S of them. Compared with random tokens
 * (strategy 1), partition boundaries never move, so a partition is the unit
 * of handoff and anti-entropy, the whole placement is a Q-entry table that is
 * cheap to persist and gossip, and balance is exact to within one partition.
 *
 * Q is a power of two so that `partitionOf` is a single shift. Q is chosen
 * once at `create` and never changes: membership changes only reassign
 * owners, which is what keeps key movement minimal (Dynamo §4.2: a joining
 * node takes keys only from its new neighbours' ranges, nothing else moves).
 *
 * A Ring is an immutable value: every change returns a new Ring.
 */
import assert from 'node:assert/strict';
import { ErrorCode, RingtableError } from '../errors.js';

/** 16 partitions minimum: enough for a few nodes to be balanced at all. */
export const PARTITION_BITS_MIN = 4;
/** 2^20 partitions maximum: the owner table stays at 4 MiB. */
export const PARTITION_BITS_MAX = 20;
/** Node ids are stored in Int32Array preference tables. */
export const NODE_ID_MAX = 0x7fff_ffff;

/**
 * How far either side of a partition we look to keep one node from owning
 * partitions close together. A preference list for the usual N = 3 reads at
 * least 3 consecutive partitions; when those have distinct owners it is
 * exactly them, and replica load spreads evenly over neighbours.
 */
const NEIGHBOURHOOD_RADIUS = 2;

/** Persisted form of a ring: the whole placement is the owner table. */
export interface RingJSON {
  partitionBits: number;
  owners: number[];
}

export class Ring {
  readonly partitionCount: number;
  readonly partitionBits: number;
  readonly #shift: number;
  readonly #owners: Int32Array;
  readonly #nodeIds: readonly number[];

  private constructor(partitionBits: number, owners: Int32Array) {
    assert(partitionBits >= PARTITION_BITS_MIN && partitionBits <= PARTITION_BITS_MAX);
    assert.equal(owners.length, 2 ** partitionBits);
    this.partitionBits = partitionBits;
    this.partitionCount = owners.length;
    this.#shift = 32 - partitionBits;
    this.#owners = owners;
    this.#nodeIds = Object.freeze([...new Set(owners)].sort((a, b) => a - b));
    for (const nodeId of this.#nodeIds) assert(isValidNodeId(nodeId), `invalid node id ${nodeId}`);
  }

  /**
   * A ring over `nodeIds` with Q = the next power of two at or above
   * nodes × vnodesPerNode (Dynamo §6.2 strategy 3's Q/S tokens per node),
   * clamped to [2^4, 2^20]. Owners are assigned round-robin over the ids
   * sorted ascending, so the ring depends only on the set of ids, not on the
   * order a configuration lists them, and neighbouring partitions have
   * distinct owners.
   */
  static create(nodeIds: readonly number[], vnodesPerNode: number): Ring {
    validateNodeIds(nodeIds);
    if (!Number.isInteger(vnodesPerNode) || vnodesPerNode < 1) {
      throw invalid(`vnodesPerNode must be an integer >= 1, got ${vnodesPerNode}`);
    }
    const partitionBits = partitionBitsFor(nodeIds.length * vnodesPerNode);
    if (nodeIds.length > 2 ** partitionBits) {
      throw invalid(`at most ${2 ** PARTITION_BITS_MAX} nodes, got ${nodeIds.length}`);
    }
    const sorted = [...nodeIds].sort((a, b) => a - b);
    const owners = new Int32Array(2 ** partitionBits);
    for (let p = 0; p < owners.length; p++) owners[p] = sorted[p % sorted.length]!;
    return new Ring(partitionBits, owners);
  }

  /** Load a persisted ring, rejecting anything `toJSON` could not have produced. */
  static fromJSON(json: RingJSON): Ring {
    const bits: unknown = json?.partitionBits;
    if (typeof bits !== 'number' || !Number.isInteger(bits) || bits < PARTITION_BITS_MIN || bits > PARTITION_BITS_MAX) {
      throw invalid(`ring partitionBits must be an integer in [${PARTITION_BITS_MIN}, ${PARTITION_BITS_MAX}]`);
    }
    const owners: unknown = json.owners;
    if (!Array.isArray(owners) || owners.length !== 2 ** bits) {
      throw invalid(`ring owners must be an array of ${2 ** bits} node ids`);
    }
    for (const owner of owners) {
      if (!isValidNodeId(owner)) throw invalid(`ring owner ${String(owner)} is not a valid node id`);
    }
    return new Ring(bits, Int32Array.from(owners as number[]));
  }

  toJSON(): RingJSON {
    return { partitionBits: this.partitionBits, owners: Array.from(this.#owners) };
  }

  /** The partition holding a 32-bit key hash: its top `partitionBits` bits. */
  partitionOf(hash32: number): number {
    assert(hash32 >>> 0 === hash32, 'hash32 must be an unsigned 32-bit integer');
    return hash32 >>> this.#shift;
  }

  ownerOf(partition: number): number {
    assert(Number.isInteger(partition) && partition >= 0 && partition < this.partitionCount, 'partition out of range');
    return this.#owners[partition]!;
  }

  /** Sorted ascending, distinct. Every listed node owns at least one partition. */
  nodeIds(): readonly number[] {
    return this.#nodeIds;
  }

  /** Ascending partition numbers owned by `nodeId` (empty if it owns none). */
  partitionsOwnedBy(nodeId: number): number[] {
    const owned: number[] = [];
    for (let p = 0; p < this.#owners.length; p++) if (this.#owners[p] === nodeId) owned.push(p);
    return owned;
  }

  /**
   * A ring with `nodeId` joined. Dynamo §6.2 strategy 3: the new node steals
   * floor(Q/(S+1)) partitions, each from whichever node is then most loaded,
   * so only partitions that end up on the new node move (minimal movement,
   * Dynamo §4.2) and owners that were balanced to within one partition stay
   * so. Among a donor's partitions it prefers ones with no partition of the
   * new node nearby, so preference lists stay diverse.
   */
  withNodeAdded(nodeId: number): Ring {
    if (!isValidNodeId(nodeId)) throw invalid(`node id must be an integer in [0, ${NODE_ID_MAX}], got ${nodeId}`);
    if (this.#nodeIds.includes(nodeId)) throw invalid(`node ${nodeId} is already in the ring`);
    const nodeCountAfter = this.#nodeIds.length + 1;
    if (nodeCountAfter > this.partitionCount) {
      throw invalid(`a ring of ${this.partitionCount} partitions holds at most ${this.partitionCount} nodes`);
    }
    const takeCount = Math.floor(this.partitionCount / nodeCountAfter);
    const giveByDonor = donorQuotas(countLoads(this.#owners), takeCount);
    const owners = Int32Array.from(this.#owners);
    // Widen what counts as acceptable pass by pass: first only partitions
    // with no partition of the new node nearby, at the end any partition.
    for (const crowdingMax of [0, 1, 2, Infinity]) stealPartitions(owners, giveByDonor, nodeId, crowdingMax);
    for (const left of giveByDonor.values()) assert.equal(left, 0, 'a donor kept partitions it should give');
    return new Ring(this.partitionBits, owners);
  }

  /**
   * A ring with `nodeId` gone: its partitions are shared out one at a time to
   * whichever node is then least loaded, keeping balance within one
   * partition, and nothing else moves. Which orphan goes to which recipient
   * favours recipients with no partition nearby, as in `withNodeAdded`.
   * Throws if it would leave the ring empty.
   */
  withNodeRemoved(nodeId: number): Ring {
    if (!this.#nodeIds.includes(nodeId)) throw invalid(`node ${nodeId} is not in the ring`);
    if (this.#nodeIds.length === 1) throw invalid(`cannot remove node ${nodeId}: it is the last node`);
    const loads = countLoads(this.#owners);
    loads.delete(nodeId);
    const orphans = this.partitionsOwnedBy(nodeId);
    const receiveByNode = recipientQuotas(loads, orphans.length);
    const owners = Int32Array.from(this.#owners);
    for (const p of orphans) {
      const recipient = chooseRecipient(owners, p, receiveByNode);
      owners[p] = recipient;
      receiveByNode.set(recipient, receiveByNode.get(recipient)! - 1);
    }
    return new Ring(this.partitionBits, owners);
  }
}

function invalid(message: string): RingtableError {
  return new RingtableError(ErrorCode.INVALID_OPTIONS, message);
}

function isValidNodeId(nodeId: unknown): nodeId is number {
  return typeof nodeId === 'number' && Number.isInteger(nodeId) && nodeId >= 0 && nodeId <= NODE_ID_MAX;
}

function validateNodeIds(nodeIds: readonly number[]): void {
  if (!Array.isArray(nodeIds) || nodeIds.length === 0) throw invalid('a ring needs at least one node');
  const seen = new Set<number>();
  for (const nodeId of nodeIds) {
    if (!isValidNodeId(nodeId)) throw invalid(`node id must be an integer in [0, ${NODE_ID_MAX}], got ${nodeId}`);
    if (seen.has(nodeId)) throw invalid(`duplicate node id ${nodeId}`);
    seen.add(nodeId);
  }
}

/** log2 of the smallest power of two >= tokenCount, clamped. */
function partitionBitsFor(tokenCount: number): number {
  let bits = PARTITION_BITS_MIN;
  while (bits < PARTITION_BITS_MAX && 2 ** bits < tokenCount) bits++;
  return bits;
}

function countLoads(owners: Int32Array): Map<number, number> {
  const loads = new Map<number, number>();
  for (const owner of owners) loads.set(owner, (loads.get(owner) ?? 0) + 1);
  return loads;
}

/**
 * How many partitions each node gives to a joining node: one at a time from
 * the node most loaded at that moment (lowest id on ties, for determinism).
 * Taking only from the top is what keeps the result within one partition.
 */
function donorQuotas(loads: Map<number, number>, takeCount: number): Map<number, number> {
  const left = new Map(loads);
  const give = new Map<number, number>();
  for (let i = 0; i < takeCount; i++) {
    const donor = extremeNode(left, (a, b) => a > b);
    left.set(donor, left.get(donor)! - 1);
    give.set(donor, (give.get(donor) ?? 0) + 1);
  }
  return give;
}

/** How many orphaned partitions each node receives: always to the least loaded. */
function recipientQuotas(loads: Map<number, number>, orphanCount: number): Map<number, number> {
  const now = new Map(loads);
  const receive = new Map<number, number>();
  for (let i = 0; i < orphanCount; i++) {
    const recipient = extremeNode(now, (a, b) => a < b);
    now.set(recipient, now.get(recipient)! + 1);
    receive.set(recipient, (receive.get(recipient) ?? 0) + 1);
  }
  return receive;
}

/** The node whose load wins `better` against all others; lowest id on ties. */
function extremeNode(loads: Map<number, number>, better: (a: number, b: number) => boolean): number {
  let best = -1;
  let bestLoad = 0;
  for (const [nodeId, load] of loads) {
    if (best === -1 || better(load, bestLoad) || (load === bestLoad && nodeId < best)) {
      best = nodeId;
      bestLoad = load;
    }
  }
  assert(best !== -1, 'no node to choose from');
  return best;
}

/**
 * One pass over all partitions giving donors' partitions to `thief`, taking
 * only those whose crowding for `thief` is at most `crowdingMax`.
 * Partitions are visited in a golden-ratio stride order, a deterministic
 * low-discrepancy sequence, so stolen partitions spread around the ring
 * instead of clustering at its start.
 */
function stealPartitions(owners: Int32Array, giveByDonor: Map<number, number>, thief: number, crowdingMax: number): void {
  const mask = owners.length - 1;
  const stride = Math.round(owners.length * 0.6180339887) | 1; // odd, so a permutation of Z/Q
  for (let i = 0; i < owners.length; i++) {
    const p = (i * stride) & mask;
    const give = giveByDonor.get(owners[p]!) ?? 0;
    if (give === 0) continue;
    if (crowding(owners, p, thief) > crowdingMax) continue;
    giveByDonor.set(owners[p]!, give - 1);
    owners[p] = thief;
  }
}

/**
 * For one orphaned partition, the recipient with quota left that is least
 * crowded there, then the one with most quota left (so no node is left
 * needing partitions only where it is crowded), then the lowest id.
 */
function chooseRecipient(owners: Int32Array, partition: number, receiveByNode: Map<number, number>): number {
  let best = -1;
  let bestCrowding = Infinity;
  let bestLeft = 0;
  for (const [nodeId, left] of receiveByNode) {
    if (left === 0) continue;
    const c = crowding(owners, partition, nodeId);
    const better = c < bestCrowding || (c === bestCrowding && (left > bestLeft || (left === bestLeft && nodeId < best)));
    if (best === -1 || better) {
      best = nodeId;
      bestCrowding = c;
      bestLeft = left;
    }
  }
  assert(best !== -1, 'an orphaned partition has no recipient');
  return best;
}

/**
 * How badly giving `partition` to `nodeId` would hurt preference-list
 * diversity: each partition of `nodeId` at distance d <= NEIGHBOURHOOD_RADIUS
 * adds NEIGHBOURHOOD_RADIUS + 1 - d, the number of runs of
 * NEIGHBOURHOOD_RADIUS + 1 consecutive partitions that would then hold
 * `nodeId` twice. 0 means no partition of `nodeId` nearby.
 */
function crowding(owners: Int32Array, partition: number, nodeId: number): number {
  const mask = owners.length - 1;
  let total = 0;
  for (let d = 1; d <= NEIGHBOURHOOD_RADIUS; d++) {
    const weight = NEIGHBOURHOOD_RADIUS + 1 - d;
    if (owners[(partition + d) & mask] === nodeId) total += weight;
    if (owners[(partition - d) & mask] === nodeId) total += weight;
  }
  return total;
}

/**
 * Whether two tokens lie in one ring partition of `ring`: then one
 * preference list, one leader and one transaction on each replica hold keys
 * of both (an atomic multi-key write's condition).
 */
export function sameRingPartition(ring: Pick<Ring, 'partitionOf'>, tokenA: number, tokenB: number): boolean {
  return ring.partitionOf(tokenA) === ring.partitionOf(tokenB);
}
