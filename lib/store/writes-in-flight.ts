/**
 * This coordinator's puts and deletes that some replica has not answered
 * yet, by key: so that a read repair does not send a replica what a write
 * already on its way to it will bring (Dynamo §4.7: read repair is
 * opportunistic; a replica a skipped repair leaves behind is repaired by the
 * next read that finds it so once the write has settled, or by anti-entropy).
 *
 * Why: a write acknowledged at W = 2 of N = 3 leaves its third replica
 * behind until the REPLICATE lands there, and every R = 2 read of the key
 * that meets that replica in that window read-repaired it with the same
 * object. On YCSB-B (5% puts, zipfian) a write drew about two such repairs:
 * four replicated writes per put where two carry it, and the whole process
 * spent 23-28 µs of CPU per operation against 16-20 with read repair off
 * (session s16, bench/README.md).
 *
 * Bounded by the coordinator's operations in flight (pendingMax): a write is
 * added when it is sent and removed when the coordinator settles it (every
 * replica answered, or its deadline passed).
 */

/** What a write in flight tells: its replicas (targets) and which of them answered. */
export interface WriteInFlight {
  readonly quorum: {
    readonly replicas: ArrayLike<number>;
    hasAnswered(target: number): boolean;
  };
}

export class WritesInFlight<W extends WriteInFlight> {
  /** A key's writes: one, or several while a hot key's puts overlap. */
  private readonly byKey = new Map<string, W | W[]>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  add(key: string, write: W): void {
    const held = this.byKey.get(key);
    if (held === undefined) this.byKey.set(key, write);
    else if (Array.isArray(held)) held.push(write);
    else this.byKey.set(key, [held, write]);
    this.count++;
  }

  /** Forgets `write`; false when it was not held (removed already, or never added). */
  remove(key: string, write: W): boolean {
    const held = this.byKey.get(key);
    if (held === undefined) return false;
    if (!Array.isArray(held)) {
      if (held !== write) return false;
      this.byKey.delete(key);
    } else {
      const index = held.indexOf(write);
      if (index < 0) return false;
      held.splice(index, 1);
      if (held.length === 1) this.byKey.set(key, held[0]!);
    }
    this.count--;
    return true;
  }

  /** Is a write of `key` on its way to `target`: sent there (or to be, once its coordinating replica answers) and not answered by it? */
  reaches(key: string, target: number): boolean {
    const held = this.byKey.get(key);
    if (held === undefined) return false;
    if (!Array.isArray(held)) return pendingAt(held, target);
    for (let i = 0; i < held.length; i++) if (pendingAt(held[i]!, target)) return true;
    return false;
  }
}

function pendingAt(write: WriteInFlight, target: number): boolean {
  const replicas = write.quorum.replicas;
  for (let i = 0; i < replicas.length; i++) if (replicas[i] === target) return !write.quorum.hasAnswered(target);
  return false;
}
