/**
 * A worker thread that runs a bench's closed loop on request, one request at
 * a time (bench/attach-threads.bench.ts, bench/ycsb-b-floor.bench.ts): the
 * main thread asks it to get ready ('attach' on thread-load.ts, 'open' on
 * replicated-floor.ts), then to run until a wall-clock instant, then to close.
 * Both workers speak this protocol: a reply per request, 'failed' with a
 * message when the request threw.
 */
import { type MessagePort, Worker } from 'node:worker_threads';
import type { LoadResult } from './thread-load.js';

export type FromBenchThread = { type: 'attached' } | { type: 'done'; result: LoadResult } | { type: 'closed' } | { type: 'failed'; message: string };

export class LoadThread<Ready extends { type: string }> {
  private readonly worker: Worker;
  private waiting: ((message: FromBenchThread) => void) | undefined;

  /** `workerData` says which worker `url` runs (its module checks it before it serves). */
  constructor(url: URL, workerData: unknown) {
    this.worker = new Worker(url, { workerData });
    this.worker.on('message', (message: FromBenchThread) => this.waiting?.(message));
    // A worker that dies answers its pending request as failed: the bench ends with its error, it does not wait forever.
    this.worker.on('error', (error) => this.waiting?.({ type: 'failed', message: error instanceof Error ? error.message : String(error) }));
    this.worker.on('exit', (code) => this.waiting?.({ type: 'failed', message: `the worker exited (code ${code})` }));
  }

  private async ask(message: Ready | { type: 'run'; stream: number; endAtMs: number } | { type: 'close' }): Promise<FromBenchThread> {
    const answer = new Promise<FromBenchThread>((resolve) => (this.waiting = resolve));
    this.worker.postMessage(message);
    const reply = await answer;
    if (reply.type === 'failed') throw new Error(`the load thread failed: ${reply.message}`);
    return reply;
  }

  /** Get ready to run (attach a store, open environments): whatever the worker needs first. */
  async ready(message: Ready): Promise<void> {
    await this.ask(message);
  }

  async run(stream: number, endAtMs: number): Promise<LoadResult> {
    return ((await this.ask({ type: 'run', stream, endAtMs })) as { result: LoadResult }).result;
  }

  async close(): Promise<void> {
    await this.ask({ type: 'close' });
    await this.worker.terminate();
  }
}

/** The worker's side: serve `ready`, then runs with `run`, then `close`, each answered in turn. */
export function serveLoadThread<Ready extends { type: string }>(
  port: MessagePort,
  handlers: { ready(message: Ready): Promise<void>; run(stream: number, endAtMs: number): Promise<LoadResult>; close(): Promise<void> },
): void {
  const reply = (message: FromBenchThread) => port.postMessage(message);
  port.on('message', (message: Ready | { type: 'run'; stream: number; endAtMs: number } | { type: 'close' }) => {
    const step = async () => {
      if (message.type === 'run') {
        const run = message as { stream: number; endAtMs: number };
        reply({ type: 'done', result: await handlers.run(run.stream, run.endAtMs) });
      } else if (message.type === 'close') {
        await handlers.close();
        reply({ type: 'closed' });
        port.close();
      } else {
        await handlers.ready(message as Ready);
        reply({ type: 'attached' });
      }
    };
    step().catch((error: unknown) => reply({ type: 'failed', message: (error as Error).message }));
  });
}
