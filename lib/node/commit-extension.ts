/**
 * Writes that arrived while a commit is open, drained into it (group
 * commit; issue 15 target 4). Given to `Replica.commit` as its `extend`.
 * A write that arrives while a transaction is open would otherwise wait
 * for that commit and then make the next one; joining the open one costs
 * it nothing, and saves the next commit's pages: a commit's cost grows with
 * the pages it dirties, and two commits of one putMany batch dirty most
 * pages twice. Two cases matter:
 * - a burst larger than the ring: a putMany's share of a 10,000-key batch is
 *   about 1.7 MB for each node, the ring 1 MiB; the coordinator writes what
 *   fits, waits for room, and writes the rest while the first part's
 *   transaction is open;
 * - in `siblings` mode, the replicas' copies of a batch, which the
 *   coordinator sends as each coordinating node answers its minted objects,
 *   at different times: those arriving while one of them is applied join it
 *   (commits per node for 12 batches 31-35 -> 25-32, bench/README.md s11).
 *
 * Nothing waits for writes still to come: what has arrived by the time the
 * commit's writes are applied joins it, anything later does not (holding a
 * commit for writes still to come idled the node and was reverted twice,
 * bench/README.md sessions s6 and s8). Replica.commit bounds what one commit
 * takes (COMMIT_WRITES_MAX).
 */
import type { MessageHandler, RingReader } from '../transport/spsc-ring.js';
import { joinsOpenCommit } from './replica.js';

/** Messages one extension drains before the commit applies them (the node loop's own drain bound). */
export const EXTENSION_MESSAGES_MAX = 4096;

export interface CommitExtensionHost {
  /** The node may not drain now (a crash, a pause): the commit closes with what it has. */
  stopped(): boolean;
  /** Make the answers given so far visible (the response rings' publish). */
  publish(): void;
}

/**
 * `Replica.commit`'s `extend` for a node that drains `reader` with `handle`.
 * A request other than a write ends the drain and is handled once the
 * transaction closed, in a microtask (lmdb-js runs a commit's callbacks in
 * one synchronous step; a sync commit has returned by then): a read inside
 * the transaction would see its writes before they commit. So does an
 * envelope of MINT_ONLY PUTs, which read to mint and answer before any commit.
 */
export function commitExtension(reader: RingReader, handle: MessageHandler, host: CommitExtensionHost): () => boolean {
  /** At most one: the drain stops at it. */
  let deferred: Uint8Array | undefined;
  const handleDeferred = () => {
    const message = deferred!;
    deferred = undefined;
    // Drained before any pause or crash: answered as the loop would have.
    handle(message, new DataView(message.buffer), 0, message.byteLength);
    host.publish();
  };
  const handleWrite: MessageHandler = (bytes, view, offset, length) => {
    if (joinsOpenCommit(view, offset)) return handle(bytes, view, offset, length);
    deferred = bytes.slice(offset, offset + length);
    queueMicrotask(handleDeferred);
  };
  return () => {
    if (!reader.hasData() || deferred !== undefined || reader.isClosed() || host.stopped()) return false;
    // One message at a time, so that the drain stops right after a request it defers.
    let drained = 0;
    while (drained < EXTENSION_MESSAGES_MAX && deferred === undefined && reader.read(handleWrite, 1) > 0) drained++;
    return drained > 0;
  };
}
