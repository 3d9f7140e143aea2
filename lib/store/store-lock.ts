/**
 * One Store per directory: two coordinators with different rings would write
 * the same LMDB environments. The lock is `<path>/store.lock`, created
 * exclusively (O_EXCL) with the owner's pid before anything else is written,
 * and removed by close(). A lock whose pid no longer runs (its owner was
 * killed) is stale and taken over.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join as joinPath } from 'node:path';
import { ErrorCode, RingtableError } from '../errors.js';

const LOCK_FILE = 'store.lock';

/** Take the directory's lock (ERR_IN_USE if a live Store holds it); returns its release. */
export function lockStoreDirectory(path: string): () => void {
  const file = joinPath(path, LOCK_FILE);
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      try {
        writeFileSync(fd, String(process.pid));
      } finally {
        closeSync(fd);
      }
      return () => unlinkSync(file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = Number.parseInt(readFileOrEmpty(file), 10);
    if (attempt === 0 && !processRuns(owner)) {
      // Stale: its owner is gone. (A pid reused since by another process reads as alive: remove the file by hand.)
      unlinkSync(file);
      continue;
    }
    const who = owner === process.pid ? 'another Store in this process' : Number.isInteger(owner) ? `process ${owner}` : 'another Store';
    throw new RingtableError(ErrorCode.IN_USE, `the store at ${path} is open in ${who} (${file}); close it first`);
  }
}

function readFileOrEmpty(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function processRuns(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, under another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
