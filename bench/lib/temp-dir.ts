/**
 * Benchmark directories: fresh under the OS temp dir, removed on the way out
 * (also on Ctrl-C), unless the user asked to keep them.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const created = new Set<string>();
let hooked = false;

function removeAllSync(): void {
  for (const dir of created) fs.rmSync(dir, { recursive: true, force: true });
  created.clear();
}

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.once('exit', removeAllSync);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      removeAllSync();
      process.exit(130);
    });
  }
}

/** A new empty directory `<parent>/<prefix>XXXXXX`; parent defaults to the OS temp dir. */
export function makeTempDir(prefix: string, parent: string = os.tmpdir()): string {
  fs.mkdirSync(parent, { recursive: true });
  const dir = fs.mkdtempSync(path.join(parent, prefix));
  created.add(dir);
  hookExit();
  return dir;
}

export function removeTempDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
  created.delete(dir);
}

/** Bytes under `dir`, for reporting how large a data set ended up on disk. */
export function directoryBytes(dir: string): number {
  let total = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) total += directoryBytes(full);
    else if (entry.isFile()) total += fs.statSync(full).blocks * 512;
  }
  return total;
}
