/**
 * The bounds on node ids, replicas and keys, in one place, with the asserts
 * that tie them together checked when this module loads (style: put a limit
 * on everything, and assert what must hold).
 */
import assert from 'node:assert/strict';

/** Node ids a store may ever use (ids are never reused: Store.addNode); the nodes report hints per id (transport/node-stats.ts). */
export const NODE_IDS_MAX = 256;
/** Node ids travel in the wire's u16 hintOwner field as id + 1, and in the low 16 bits of a replica target (ring/sloppy-quorum.ts). */
export const NODE_ID_LIMIT = 1 << 15;
/** Nodes in a store at once. */
export const NODES_MAX = 64;
/** Replicas per key (N): quorum bookkeeping keeps one bit per replica. */
export const REPLICAS_MAX = 16;
/** Replicas a quorum's bitmasks by position can track (quorum/write-quorum.ts). */
export const QUORUM_REPLICAS_MAX = 30;
/**
 * lmdb-js accepts keys of at most 1978 bytes (its default page size); the TTL
 * index prefixes keys with 8 bytes of expiry time.
 */
export const KEY_BYTES_LIMIT = 1978 - 8;

assert.ok(NODES_MAX <= NODE_IDS_MAX, 'a store cannot hold more nodes than there are node ids');
assert.ok(NODE_IDS_MAX <= NODE_ID_LIMIT, 'every node id must fit the wire and the replica targets');
assert.ok(REPLICAS_MAX <= NODES_MAX, 'N replicas need N distinct nodes');
assert.ok(REPLICAS_MAX <= QUORUM_REPLICAS_MAX, 'a quorum tracks every replica in its bitmasks');

/** The lowest scheduling priority a thread can take on Linux (nice 19): the bound of nodeThreadNice. */
export const NICE_MAX = 19;
