/**
 * Versions a coordinator mints itself, without reading any replica: the
 * put path of last-writer-wins stores (conflicts: 'lww') for putMany.
 *
 * Why: a node-minted version (Dynamo §4.5, actor.ts) needs the key's stored
 * clock, so a put costs two dependent commits (the coordinating node's, then
 * the other replicas'), and a batch of puts about three per node. Under
 * last-writer-wins a version needs no read: the value that stays is the one
 * with the highest timestamp (dotted-version-vector.ts lastWriterWins, ties
 * broken by actor then counter), and the coordinator's hybrid logical clock
 * (hybrid-logical-clock.ts) already makes every timestamp it hands out later
 * than every one it handed out or read. So the coordinator builds the object
 * itself and sends it as a REPLICATE to all N replicas at once, which merge
 * it as they merge any replica's object (DVVSet sync, then lastWriterWins):
 * one transaction per node per batch.
 *
 * The object is one entry of the coordinator's own actor, a writer actor:
 * node slot WRITER_NODE_SLOT (never a node id: those are below NODE_IDS_MAX)
 * in an epoch drawn at random for each coordinator's life, with a counter
 * that grows by one per minted version, so every dot names one value (what
 * sync requires). The counters of one key are not consecutive, unlike a
 * node's: harmless here, since an lww object holds one value, and within one
 * actor a higher counter is also a later timestamp (the clock and the counter
 * both only grow), so sync's "higher counter wins" and lastWriterWins agree.
 * The writer's context, if it gave one, rides along as entries without
 * values: replicas then discard what it covers, as update() would.
 *
 * What changes against a node-minted lww put: a blind put no longer
 * overwrites by causality whatever its coordinating node held; it wins by
 * timestamp, on every replica alike. Only a value timestamped later by
 * another clock (another process whose wall clock ran ahead) can beat it.
 *
 * Pure: the epoch is passed in.
 */
import assert from 'node:assert/strict';
import { ACTOR_NODE_RANGE, EPOCH_MAX, actorOf } from './actor.js';
import { CLOCK_ENTRIES_BOUND, truncate, type CausalContext, type ClockEntry, type Sibling, type VersionedObject } from './dotted-version-vector.js';
import { CONTEXT_COUNTER_MAX, encodeObjectTransient, encodeSingleValueTransient, writeSingleValueHead } from './object-codec.js';

/** The node slot of writer actors: above every node id (bounds.ts NODE_IDS_MAX), apart from ORDERED_ACTOR's slot. */
export const WRITER_NODE_SLOT = ACTOR_NODE_RANGE - 2;

/** A writer epoch from a uniform random integer in [0, 2^48): one of EPOCH_MAX, never 0. */
export function writerEpochOf(random48: number): number {
  assert.ok(Number.isSafeInteger(random48) && random48 >= 0, 'random48 must be a non-negative safe integer');
  return 1 + (random48 % EPOCH_MAX);
}

export class WriterVersions {
  readonly actor: number;
  private counter = 0;

  constructor(epoch: number) {
    assert.ok(Number.isSafeInteger(epoch) && epoch >= 1 && epoch <= EPOCH_MAX, `writer epoch ${epoch} out of range`);
    this.actor = actorOf(WRITER_NODE_SLOT, epoch);
  }

  /**
   * The next counter, taken now for a write minted later with it (the
   * `reserved` of mint, mintTransient and mintInto); 0 when none is left.
   * A putMany takes its items' counters in their order as it reads them,
   * with their timestamps, whichever it mints then and whichever as it
   * sends them (put-many-items.ts): so a later entry of one key is always
   * the higher counter, as sync requires of the later write.
   */
  reserve(): number {
    const counter = this.counter + 1;
    if (counter > CONTEXT_COUNTER_MAX) return 0;
    this.counter = counter;
    return counter;
  }

  /**
   * The object of one write: its context's entries without values, and the
   * writer's next dot holding the value (or the dot of the `reserved`
   * counter, reserve's). Undefined when this writer cannot mint it (a
   * context, forged since contexts come from users, names this writer at or
   * past that counter; or the counter reached its bound): the write then
   * takes the node-minted path.
   */
  mint(context: CausalContext | undefined, sibling: Sibling, reserved = 0): VersionedObject | undefined {
    const counter = reserved > 0 ? reserved : this.counter + 1;
    if (counter > CONTEXT_COUNTER_MAX) return undefined;
    const own: ClockEntry = { actor: this.actor, counter, timestampMs: sibling.timestampMs, siblings: [sibling] };
    if (context === undefined || context.length === 0) {
      if (reserved === 0) this.counter = counter;
      return { entries: [own] };
    }
    const entries: ClockEntry[] = [];
    let placed = false;
    for (const [actor, seen] of context) {
      if (actor === this.actor) {
        if (seen >= counter) return undefined;
        continue;
      }
      if (!placed && actor > this.actor) {
        entries.push(own);
        placed = true;
      }
      // A counter of 0 says nothing was seen: no entry, as update() keeps none.
      // Dated at the write and marked context-only, as update() treats what it learns from a context (its comments say why).
      if (seen > 0) entries.push({ actor, counter: seen, timestampMs: sibling.timestampMs, siblings: [], contextOnly: true });
    }
    if (!placed) entries.push(own);
    if (reserved === 0) this.counter = counter;
    // A context may name more actors than an object holds (object-codec.ts
    // CONTEXT_ENTRIES_MAX): only the writer's entry holds a value, so
    // truncation always brings it within the bound, dropping context entries.
    // Under last-writer-wins that forgets nothing a replica needs: the
    // write's timestamp is later than every value its context covers. A
    // replica merging it past the bound drops these before its own entries
    // (they are contextOnly: truncate's comment).
    return truncate({ entries }, CLOCK_ENTRIES_BOUND);
  }

  /**
   * mint, encoded into a reused buffer (object-codec.ts: valid until the
   * next transient encode). Without a context, written from the fields
   * (encodeSingleValueTransient): a putMany item's object costs no
   * allocation on the coordinator.
   */
  mintTransient(context: CausalContext | undefined, value: Uint8Array, timestampMs: number, expiresAtMs: number, tombstone: boolean, reserved = 0): Uint8Array | undefined {
    if (context === undefined || context.length === 0) {
      const counter = reserved > 0 ? reserved : this.counter + 1;
      if (counter > CONTEXT_COUNTER_MAX) return undefined;
      if (reserved === 0) this.counter = counter;
      return encodeSingleValueTransient(this.actor, counter, timestampMs, expiresAtMs, tombstone, value);
    }
    const object = this.mint(context, { value, timestampMs, expiresAtMs, tombstone }, reserved);
    return object === undefined ? undefined : encodeObjectTransient(object);
  }

  /**
   * mintTransient of a write without context under the `reserved` counter
   * (reserve's), written at `at` of `out` (`view` over the same buffer) but
   * for its value: the caller writes `valueBytes` of value at the place
   * returned. A putMany builds each item's message around its object so
   * (store/put-many-items.ts).
   */
  mintInto(out: Uint8Array, view: DataView, at: number, reserved: number, timestampMs: number, expiresAtMs: number, tombstone: boolean, valueBytes: number): number {
    if (!(reserved >= 1 && reserved <= this.counter)) assert.fail(`counter ${reserved} was not reserved`);
    return writeSingleValueHead(out, view, at, this.actor, reserved, timestampMs, expiresAtMs, tombstone, valueBytes);
  }
}
