/**
 * Reads without messages (readPath 'direct', issue 15): a get served in the
 * calling thread straight from a replica's LMDB environment, which is
 * memory-mapped in this process anyway. The coordinator decides which
 * replicas to read this way (read-path.ts); this is the host's half: a
 * read-only handle per node, opened once the node serves and dropped when it
 * goes down, and the answer delivered as the node would have sent it (GET's
 * OK with the stored object, or NOT_FOUND), so GetOperation and
 * SingleReadBatch merge, answer and repair exactly as before.
 *
 * A node whose requests are fault-injected (dropped, delayed, duplicated) or
 * paused is asked by message, so that faults act as they always did.
 */
import { NodeStat } from '../transport/node-stats.js';
import { LmdbReader } from '../storage/lmdb-reader.js';
import type { Durability } from '../storage/storage-engine.js';
import { type NodeLink, type PendingReply, failReply } from '../transport/node-link.js';
import { Status, type WireKey } from '../transport/wire.js';

interface OpenReader {
  /** The thread it was opened for: a restarted node is a new link, and gets a new handle. */
  link: NodeLink;
  reader: LmdbReader;
  /** link.answersDispatched plus the node's commit count when its snapshot was last renewed. */
  answersSeen: number;
}

/**
 * Reads served in place within one macrotask, at most; past it, reads go by
 * message until the next turn. A read in place answers synchronously, so a
 * caller that issues the next get when one resolves never leaves the
 * microtask queue: the answers of its writes (on the response rings) wait
 * until every caller is blocked on a write. Measured, YCSB-B at 256 in flight
 * without this bound: update p50 907 ms against 45 ms with every read a
 * message. The reads past the bound also put the node threads' core to work.
 */
export const READS_IN_PLACE_PER_TURN_MAX = 512;
/**
 * The same bound for the reads of batches (getMany): a batch is one promise,
 * not a chain, so it may read more in one turn, but not without limit (a
 * getMany of a million keys would hold the event loop for seconds). Past it,
 * a batch waits for the next macrotask and reads in place then
 * (SingleReadBatch): asking node threads instead made the coordinator encode
 * and decode each of those reads and wait for threads sharing its cores (18%
 * of the reads of `bench/get-many.bench.ts`, batches of 10,000, went by message).
 */
export const BATCH_READS_IN_PLACE_PER_TURN_MAX = 16_384;
const EMPTY = new Uint8Array(0);
const EMPTY_VIEW = new DataView(EMPTY.buffer);

export class DirectReads {
  private readonly path: string;
  private readonly durability: Durability;
  private readonly readers: (OpenReader | undefined)[] = [];
  /** Handles being closed: close() waits for them. */
  private readonly closing = new Set<Promise<void>>();
  /** A view on lmdb-js's read buffer, made again only when that buffer changes. */
  private lastBuffer: ArrayBufferLike = EMPTY.buffer;
  private lastBytes: Uint8Array = EMPTY;
  private lastView: DataView = EMPTY_VIEW;
  /** Reads served in place (stats). */
  served = 0;
  /** Reads served in place in this macrotask (READS_IN_PLACE_PER_TURN_MAX), and those of batches. */
  private servedThisTurn = 0;
  private batchServedThisTurn = 0;
  private turnScheduled = false;
  private readonly newTurn = (): void => {
    this.servedThisTurn = 0;
    this.batchServedThisTurn = 0;
    this.turnScheduled = false;
  };

  /** `afterIo`: runs its argument after this turn's I/O callbacks, where the rings' answers arrive (node-host.ts: the event loop's check phase). */
  constructor(path: string, durability: Durability, private readonly afterIo: (run: () => void) => void) {
    this.path = path;
    this.durability = durability;
  }

  /**
   * Answer a GET for `key` to `reply` from `link`'s environment, as its node
   * would, before this returns; false when the node is to be asked by message
   * instead (past this macrotask's bound too: the rings' answers get their turn).
   */
  read(link: NodeLink, target: number, key: WireKey, reply: PendingReply, tag: number, batch = false): boolean {
    if (!readable(link)) return false;
    this.scheduleTurn();
    if (batch ? this.batchServedThisTurn >= BATCH_READS_IN_PLACE_PER_TURN_MAX : this.servedThisTurn >= READS_IN_PLACE_PER_TURN_MAX) return false;
    return this.readNow(link, target, key, reply, tag, batch);
  }

  /**
   * Whether `reads` reads of a get (or, with `batch`, of a getMany) may be
   * served in place in this macrotask; when not, the next macrotask resets the count.
   */
  hasTurnLeft(reads = 1, batch = false): boolean {
    if (batch ? this.batchServedThisTurn + reads <= BATCH_READS_IN_PLACE_PER_TURN_MAX : this.servedThisTurn + reads <= READS_IN_PLACE_PER_TURN_MAX) return true;
    this.scheduleTurn();
    return false;
  }

  private scheduleTurn(): void {
    if (this.turnScheduled) return;
    this.turnScheduled = true;
    this.afterIo(this.newTurn);
  }

  private readNow(link: NodeLink, target: number, key: WireKey, reply: PendingReply, tag: number, batch: boolean): boolean {
    if (batch) this.batchServedThisTurn++;
    else this.servedThisTurn++;
    let stored: Buffer | undefined;
    try {
      const open = this.readerOf(link);
      // The node's commits this thread has heard of must be visible: a get after an acknowledged put sees it.
      // Its commit count too: another thread's coordinator (Store.attach) may have heard of a commit this one did not.
      const answersSeen = link.answersDispatched + link.stats[NodeStat.COMMITS]!;
      if (open.answersSeen !== answersSeen) {
        open.reader.renew();
        open.answersSeen = answersSeen;
      }
      stored = open.reader.get(key);
    } catch {
      // An environment that cannot be read here (closing, or failing to open): the node answers instead.
      this.release(link.nodeId);
      return false;
    }
    this.served++;
    try {
      if (stored === undefined) {
        reply.onReply(target, Status.NOT_FOUND, EMPTY, EMPTY_VIEW, 0, 0, tag);
        return true;
      }
      if (stored.buffer !== this.lastBuffer) {
        this.lastBuffer = stored.buffer;
        this.lastBytes = new Uint8Array(stored.buffer);
        this.lastView = new DataView(stored.buffer);
      }
      reply.onReply(target, Status.OK, this.lastBytes, this.lastView, stored.byteOffset, stored.length, tag);
    } catch (error) {
      // As a node link does: an answer its request cannot use fails that request only.
      failReply(reply, target, error, tag, `node ${link.nodeId} (read in place)`);
    }
    return true;
  }

  /** The node went down (crashed, stopped, removed, marked down): its handle goes, so its environment can close. */
  release(nodeId: number): void {
    const open = this.readers[nodeId];
    if (open === undefined) return;
    this.readers[nodeId] = undefined;
    const closed = open.reader.close().catch(() => {});
    this.closing.add(closed);
    void closed.then(() => this.closing.delete(closed));
  }

  /** Every handle closed: before the nodes stop, so that the last to close an environment is its node. */
  async close(): Promise<void> {
    for (let nodeId = 0; nodeId < this.readers.length; nodeId++) this.release(nodeId);
    await Promise.all(this.closing);
  }

  private readerOf(link: NodeLink): OpenReader {
    const open = this.readers[link.nodeId];
    if (open !== undefined && open.link === link) return open;
    if (open !== undefined) this.release(link.nodeId);
    const opened: OpenReader = { link, reader: new LmdbReader(this.path, link.nodeId, this.durability), answersSeen: -1 };
    this.readers[link.nodeId] = opened;
    return opened;
  }
}

/** Faults act only on messages, and a paused node must not answer: those are asked by message. */
function readable(link: NodeLink): boolean {
  return link.failed === undefined && link.faults === undefined && link.stats[NodeStat.PAUSED] !== 1;
}
