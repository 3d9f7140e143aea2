/**
 * The readable event trace of one seed (`long-run.js --seed S --trace`).
 * Call sites test `enabled` before building a line, so a run without tracing
 * formats nothing. Bounded: past `linesMax` lines it counts what it drops.
 */
export class Trace {
  readonly enabled: boolean;
  private readonly lines: string[] = [];
  private readonly linesMax: number;
  private readonly clock: () => number;
  dropped = 0;

  constructor(enabled: boolean, clock: () => number, linesMax = 200_000) {
    this.enabled = enabled;
    this.clock = clock;
    this.linesMax = linesMax;
  }

  log(line: string): void {
    if (!this.enabled) return;
    if (this.lines.length >= this.linesMax) {
      this.dropped++;
      return;
    }
    this.lines.push(`${this.clock().toFixed(2).padStart(9)}ms  ${line}`);
  }

  text(): string {
    const tail = this.dropped > 0 ? `\n... ${this.dropped} more lines not kept` : '';
    return this.lines.join('\n') + tail;
  }
}
