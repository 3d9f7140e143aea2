/**
 * A Database on the in-memory table engine, in its own temporary directory and
 * closed when the test ends: the set-up of the tables layer's tests that need
 * no storage nodes. Not a *.test.ts: tap does not run it.
 */
import type { Test } from 'tap';
import { Database } from '../../lib/tables/database.js';
import type { TableEngine } from '../../lib/tables/table-engine.js';
import { MemoryTableEngine } from './memory-table-engine.js';
import { tempDir } from './temp-store.js';

/** openOnEngine's options, without the directory this helper makes. */
export type MemoryDatabaseOptions = Omit<Parameters<typeof Database.openOnEngine>[1], 'path'>;

export interface MemoryDatabase<E extends TableEngine> {
  db: Database;
  engine: E;
  /** The Database's directory (its catalog), removed when the test ends. */
  dir: string;
}

/**
 * Open a Database over `engine` (a fresh MemoryTableEngine unless given) in
 * `dir` (a fresh temporary directory unless given); it closes before the
 * directory is removed, as teardowns run in reverse order.
 */
export function openOnMemory<E extends TableEngine = MemoryTableEngine>(
  t: Test,
  options: MemoryDatabaseOptions = {},
  engine: E = new MemoryTableEngine() as unknown as E,
  dir: string = tempDir(t),
): MemoryDatabase<E> {
  const db = Database.openOnEngine(engine, { ...options, path: dir });
  t.teardown(() => db.close());
  return { db, engine, dir };
}
