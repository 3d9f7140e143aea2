/**
 * The tables layer's engine (lib/tables/table-engine.ts) inside the
 * simulation: the Store's own leader-ordered key code (lib/store/ordered-keys.ts,
 * the class Store.getOrdered, writeOrdered and range delegate to) over the
 * simulation's real Coordinator and host, so that the transaction protocol
 * (lib/tables/transactions/) runs on the simulated cluster exactly as it runs
 * on a Store, crashes, lost messages and leader changes included.
 *
 * MortalEngine is one database process's view of it: when the process dies
 * (a kill -9 of its coordinator), every call it has in flight and every call
 * it makes later never answers. A write it sent may still land, as a dying
 * process's last message may; nothing it would have done next happens.
 */
import type { ResolvedOptions } from '../../lib/config/options.js';
import { OrderedKeys } from '../../lib/store/ordered-keys.js';
import type { Coordinator } from '../../lib/store/coordinator.js';
import type { OrderedValue, OrderedWrite, RangePage, RangeRequest, TableEngine, TokenRange } from '../../lib/tables/table-engine.js';
import type { SimHost } from './sim-host.js';

/** The tables layer's engine key bound (key-encoding.ts ENGINE_KEY_BYTES_MAX is 2048). */
const KEY_BYTES_MAX = 2048;
const VALUE_BYTES_MAX = 1 << 20;

/** A TableEngine over the simulated cluster, writing with W = `w`. */
export function simTableEngine(coordinator: Coordinator, host: SimHost, w: number): TableEngine {
  // Only what OrderedKeys reads of the Store's options: the bounds, W, and a path (dropSpace's, never called here).
  const options = { keyBytesMax: KEY_BYTES_MAX, valueBytesMax: VALUE_BYTES_MAX, w, path: '/nonexistent' } as ResolvedOptions;
  const ordered = new OrderedKeys(options, coordinator, host);
  return {
    getOrdered: (key, options) => ordered.get(key, options),
    writeOrdered: (write) => ordered.write(write),
    range: (request) => ordered.range(request),
    tokenRanges: () => ordered.tokenRanges(),
    dropSpace: () => Promise.reject(new Error('the simulation drops no spaces')),
    close: () => Promise.resolve(),
  };
}

const NEVER = new Promise<never>(() => {});

/** One process's engine: it dies at `die()`, or just after sending its `callsBeforeDeath`-th call. */
export class MortalEngine implements TableEngine {
  private deadValue = false;
  private callsLeft: number;

  constructor(
    private readonly engine: TableEngine,
    callsBeforeDeath = Infinity,
    private readonly onDeath: () => void = () => {},
  ) {
    this.callsLeft = callsBeforeDeath;
  }

  get dead(): boolean {
    return this.deadValue;
  }

  die(): void {
    if (this.deadValue) return;
    this.deadValue = true;
    this.onDeath();
  }

  getOrdered(key: Uint8Array, options?: { consistent?: boolean }): Promise<OrderedValue | undefined> {
    return this.guard(() => this.engine.getOrdered(key, options));
  }

  writeOrdered(write: OrderedWrite): Promise<{ version: string }> {
    return this.guard(() => this.engine.writeOrdered(write));
  }

  range(request: RangeRequest): Promise<RangePage> {
    return this.guard(() => this.engine.range(request));
  }

  tokenRanges(): TokenRange[] {
    return this.engine.tokenRanges();
  }

  dropSpace(space: number): Promise<void> {
    return this.guard(() => this.engine.dropSpace(space));
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  private guard<T>(call: () => Promise<T>): Promise<T> {
    if (this.deadValue) return NEVER;
    const sent = call();
    this.callsLeft -= 1;
    // The call that exhausts the budget is sent (it may land), then the process dies before its answer.
    if (this.callsLeft <= 0) {
      sent.catch(() => undefined);
      this.die();
      return NEVER;
    }
    return new Promise<T>((resolve, reject) => {
      sent.then(
        (value) => {
          if (!this.deadValue) resolve(value);
        },
        (error: unknown) => {
          if (!this.deadValue) reject(error);
        },
      );
    });
  }
}
