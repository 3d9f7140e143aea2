/**
 * The coordinator's failure detector (Dynamo §4.8: failure detection is
 * local), pure: it is fed each node's heartbeat value and the coordinator's
 * own monotonic time, and says which nodes have gone silent.
 *
 * A heartbeat is judged by when the coordinator last saw it change, on the
 * coordinator's clock (threads' clocks never meet). Right after the
 * coordinator itself stalled (the whole process paused by the OS, seen for
 * 2.6 s on an overloaded 2-core machine), its evidence is stale, not the
 * nodes: that round refreshes every node instead of judging it.
 */
export type HeartbeatState = 'beating' | 'quiet' | 'silent';

export class FailureDetector {
  readonly timeoutMs: number;
  /** A gap between checks longer than this means the coordinator stalled. */
  readonly stallMs: number;
  private readonly seen = new Map<number, number>();
  private readonly seenAtMs = new Map<number, number>();
  private lastCheckMs: number | undefined;

  constructor(timeoutMs: number, checkIntervalMs: number) {
    this.timeoutMs = timeoutMs;
    this.stallMs = Math.max(4 * checkIntervalMs, timeoutMs / 2);
  }

  /** Start a check round at `nowMs`. Returns false when the coordinator stalled since the last one (judge nothing). */
  beginRound(nowMs: number): boolean {
    const stalled = this.lastCheckMs !== undefined && nowMs - this.lastCheckMs > this.stallMs;
    this.lastCheckMs = nowMs;
    if (stalled) this.seenAtMs.clear();
    return !stalled;
  }

  /**
   * Record node `id`'s heartbeat value at `nowMs`: 'beating' when it changed
   * since last seen, 'quiet' when unchanged for at most timeoutMs, 'silent'
   * beyond (the node is down).
   */
  observe(id: number, heartbeat: number, nowMs: number): HeartbeatState {
    const seenAtMs = this.seenAtMs.get(id);
    const changed = this.seen.get(id) !== heartbeat;
    if (seenAtMs === undefined || changed) {
      this.seen.set(id, heartbeat);
      this.seenAtMs.set(id, nowMs);
      return changed ? 'beating' : 'quiet';
    }
    return nowMs - seenAtMs > this.timeoutMs ? 'silent' : 'quiet';
  }

  /** A node restarted or left: forget what was seen of it. */
  forget(id: number): void {
    this.seen.delete(id);
    this.seenAtMs.delete(id);
  }
}
