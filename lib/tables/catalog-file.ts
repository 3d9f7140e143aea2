/**
 * The catalog's persistence: one JSON file in the database directory, beside
 * the engine's files, replaced atomically (write a temporary file, flush it,
 * rename it over the old one), so a crash leaves the old catalog or the new
 * one, never a torn file.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { EMPTY_CATALOG, type CatalogState, type TableRecord } from './table-catalog.js';
import type { RetiredStream } from './streams/retired-stream.js';

export const CATALOG_FILE_NAME = 'tables.json';
const FORMAT_VERSION = 1;

interface CatalogFile {
  version: number;
  nextId: number;
  tables: TableRecord[];
  /** Absent in files written before deleted tables' streams were kept. */
  retiredStreams?: RetiredStream[];
}

export function catalogPath(directory: string): string {
  return join(directory, CATALOG_FILE_NAME);
}

export function readCatalog(directory: string): CatalogState {
  const path = catalogPath(directory);
  if (!existsSync(path)) return EMPTY_CATALOG;
  const file = JSON.parse(readFileSync(path, 'utf8')) as CatalogFile;
  if (file.version !== FORMAT_VERSION) throw new Error(`${path}: unknown catalog format ${String(file.version)}`);
  const tables: Record<string, TableRecord> = {};
  for (const record of file.tables) tables[record.schema.tableName] = record;
  return { tables, nextId: file.nextId, ...(file.retiredStreams === undefined || file.retiredStreams.length === 0 ? {} : { retiredStreams: file.retiredStreams }) };
}

export function writeCatalog(directory: string, state: CatalogState): void {
  const path = catalogPath(directory);
  const temporary = `${path}.tmp`;
  const file: CatalogFile = { version: FORMAT_VERSION, nextId: state.nextId, tables: Object.values(state.tables) };
  if (state.retiredStreams !== undefined && state.retiredStreams.length > 0) file.retiredStreams = [...state.retiredStreams];
  const fd = openSync(temporary, 'w');
  try {
    writeSync(fd, JSON.stringify(file));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, path);
}
