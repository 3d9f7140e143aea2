/**
 * Fixtures for tests that run real storage-node workers: a fresh temporary
 * directory per test, stores closed and directories removed in teardown, a
 * bounded poll, and a typed-error check. Not a *.test.ts: tap does not run it.
 */
import fs from 'node:fs';
import os from 'node:os';
import type { Test } from 'tap';
import { type ErrorCode, RingtableError, Store, type StoreOptions } from '../../lib/index.js';

export type StoreSetup = Omit<StoreOptions, 'path'>;

/** A fresh directory under the OS temp dir, removed when `t` ends (after its stores close). */
export function tempDir(t: Test): string {
  const path = fs.mkdtempSync(os.tmpdir() + '/ringtable-');
  t.teardown(() => fs.rmSync(path, { recursive: true, force: true }));
  return path;
}

/**
 * Open a store at `path` and close it when `t` ends. Teardowns run in reverse
 * order of registration, so a store opened after `tempDir(t)` closes before
 * its directory is removed.
 */
export async function openAt(t: Test, path: string, setup: StoreSetup = {}): Promise<Store> {
  const store = await Store.open({ durability: 'none', nodes: 4, ...setup, path });
  t.teardown(() => store.close());
  return store;
}

/** A store in its own temporary directory, with `durability: 'none'` and 4 nodes unless told otherwise. */
export async function openTemp(t: Test, setup: StoreSetup = {}): Promise<Store> {
  return openAt(t, tempDir(t), setup);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Poll `probe` until it returns true or `timeoutMs` passes; returns whether it did. */
export async function eventually(probe: () => boolean | Promise<boolean>, timeoutMs: number, intervalMs = 25): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(intervalMs);
  }
}

/** What a call did: its value, or the error it threw or rejected with. */
export async function outcome<T>(call: () => T | Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  try {
    return { ok: true, value: await call() };
  } catch (error) {
    return { ok: false, error };
  }
}

/**
 * Assert that `call` throws or rejects with a RingtableError of `code`, and
 * return the error for further checks (undefined if it did not).
 */
export async function failsWith(t: Test, call: () => unknown, code: ErrorCode, message: string): Promise<RingtableError | undefined> {
  const result = await outcome(call);
  if (result.ok) {
    t.fail(`${message}: expected ${code}, but it succeeded`);
    return undefined;
  }
  const error = result.error;
  const typed = error instanceof RingtableError;
  t.ok(typed, `${message}: a RingtableError`, typed ? {} : { found: error });
  t.equal((error as { code?: unknown }).code, code, `${message}: ${code}`);
  return typed ? error : undefined;
}

export function randomBytes(bytes: number, seed: number): Uint8Array {
  const out = new Uint8Array(bytes);
  let a = seed >>> 0;
  for (let i = 0; i < bytes; i += 4) {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    x = (x ^ (x >>> 14)) >>> 0;
    out[i] = x & 0xff;
    if (i + 1 < bytes) out[i + 1] = (x >>> 8) & 0xff;
    if (i + 2 < bytes) out[i + 2] = (x >>> 16) & 0xff;
    if (i + 3 < bytes) out[i + 3] = x >>> 24;
  }
  return out;
}

export function sameBytes(a: unknown, b: Uint8Array): boolean {
  return a instanceof Uint8Array && a.byteLength === b.byteLength && Buffer.compare(a, b) === 0;
}

