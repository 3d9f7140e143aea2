/**
 * The simulation's scheduler: a binary min-heap of events ordered by virtual
 * time, then by the order they were scheduled, so that two events at the same
 * instant always run in the same order and a seed replays exactly.
 * Bounded (style rule 7): a run that schedules more than `eventsMax` pending
 * events is a runaway, not a workload, and fails loudly.
 */
import assert from 'node:assert/strict';

export interface SimEvent {
  readonly atMs: number;
  readonly seq: number;
  readonly run: () => void;
}

export class EventQueue {
  private readonly heap: SimEvent[] = [];
  private seq = 0;
  private nowMsValue = 0;
  readonly eventsMax: number;
  /** Events run so far: a measure of a seed's work. */
  ran = 0;

  constructor(eventsMax: number) {
    assert.ok(Number.isInteger(eventsMax) && eventsMax > 0);
    this.eventsMax = eventsMax;
  }

  /** The virtual clock: the time of the event running now. */
  get nowMs(): number {
    return this.nowMsValue;
  }

  get size(): number {
    return this.heap.length;
  }

  /** Run `run` `delayMs` from now (0: after everything already due now). */
  after(delayMs: number, run: () => void): void {
    assert.ok(Number.isFinite(delayMs) && delayMs >= 0, `bad delay ${delayMs}`);
    this.at(this.nowMsValue + delayMs, run);
  }

  at(atMs: number, run: () => void): void {
    assert.ok(atMs >= this.nowMsValue, 'events cannot be scheduled in the past');
    assert.ok(this.heap.length < this.eventsMax, `more than ${this.eventsMax} pending events: a runaway schedule`);
    const heap = this.heap;
    heap.push({ atMs, seq: this.seq++, run });
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  /** Run the next event; false when none is left or the next is after `untilMs`. */
  step(untilMs = Infinity): boolean {
    const heap = this.heap;
    if (heap.length === 0 || heap[0]!.atMs > untilMs) return false;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < heap.length && before(heap[left]!, heap[smallest]!)) smallest = left;
        if (right < heap.length && before(heap[right]!, heap[smallest]!)) smallest = right;
        if (smallest === i) break;
        [heap[i], heap[smallest]] = [heap[smallest]!, heap[i]!];
        i = smallest;
      }
    }
    this.nowMsValue = top.atMs;
    this.ran++;
    top.run();
    return true;
  }

  /** Run every event up to `untilMs` (or until none is left), then set the clock there. */
  runUntil(untilMs: number): void {
    while (this.step(untilMs));
    if (Number.isFinite(untilMs) && untilMs > this.nowMsValue) this.nowMsValue = untilMs;
  }

  /**
   * runUntil for a run whose code under test also awaits promises (a
   * membership change): after each event, `pause()` may return a promise to
   * await, during which that code's continuations run. They run in the order
   * the events resolved them, so a seed still replays exactly.
   */
  async runUntilAsync(untilMs: number, pause: () => Promise<void> | undefined): Promise<void> {
    while (this.step(untilMs)) {
      const paused = pause();
      if (paused !== undefined) await paused;
    }
    if (Number.isFinite(untilMs) && untilMs > this.nowMsValue) this.nowMsValue = untilMs;
  }

  /** drain, with runUntilAsync's pauses. */
  async drainAsync(eventsBudget: number, pause: () => Promise<void> | undefined): Promise<void> {
    let budget = eventsBudget;
    while (this.step()) {
      assert.ok(--budget > 0, `still busy after ${eventsBudget} events: a livelock`);
      const paused = pause();
      if (paused !== undefined) await paused;
    }
  }

  /** Run until nothing is scheduled; bounded by `eventsBudget` so a livelock fails instead of hanging. */
  drain(eventsBudget: number): void {
    let budget = eventsBudget;
    while (this.step()) assert.ok(--budget > 0, `still busy after ${eventsBudget} events: a livelock`);
  }
}

function before(a: SimEvent, b: SimEvent): boolean {
  return a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq);
}
