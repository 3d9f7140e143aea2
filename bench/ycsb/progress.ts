/**
 * A live progress bar (cli-progress) while loading and running. It draws on
 * stderr, and only when stdout and stderr are both terminals and --no-progress
 * was not given: piped or redirected output (CI, tests, `| tee`) stays free of
 * control characters.
 */
import cliProgress from 'cli-progress';

export interface Progress {
  start(label: string, total: number): void;
  update(value: number, detail: string): void;
  stop(): void;
}

const QUIET: Progress = { start() {}, update() {}, stop() {} };

export function progressDisplay(wanted: boolean): Progress {
  if (!wanted || !process.stdout.isTTY || !process.stderr.isTTY) return QUIET;
  let bar: cliProgress.SingleBar | undefined;
  return {
    start(label, total) {
      bar?.stop();
      bar = new cliProgress.SingleBar(
        { format: `${label.padEnd(22)} [{bar}] {percentage}% | {value}/{total} | {detail}`, stream: process.stderr, hideCursor: true, clearOnComplete: false, fps: 5 },
        cliProgress.Presets.shades_classic,
      );
      bar.start(total, 0, { detail: '' });
    },
    update(value, detail) {
      bar?.update(value, { detail });
    },
    stop() {
      bar?.stop();
      bar = undefined;
    },
  };
}
