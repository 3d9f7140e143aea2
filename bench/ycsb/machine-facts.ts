/**
 * The machine and software a report was measured on (style rule 15: every
 * figure with what produced it).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { environment } from '../lib/report.js';
import type { MachineFacts } from './bench-report.js';

/** ringtable's version, from the package.json above this file (source or dist). */
export function ringtableVersion(): string {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file)) {
      const manifest = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (manifest.name === 'ringtable') return manifest.version ?? 'unknown';
    }
    if (path.dirname(dir) === dir) return 'unknown';
  }
}

export function loadAverage(): number {
  return Math.round(os.loadavg()[0]! * 100) / 100;
}

/** Facts at the start of a run; `loadAverageAtEnd` is filled in when it ends. */
export function machineFacts(): { facts: MachineFacts; packages: Record<string, string> } {
  const env = environment();
  return {
    facts: {
      cpus: env.cpus,
      cpuModel: env.cpuModel,
      memoryGiB: env.memoryGiB,
      node: env.node,
      platform: env.platform,
      packageVersion: ringtableVersion(),
      git: env.git,
      loadAverageAtStart: env.loadAverageAtStart,
      loadAverageAtEnd: env.loadAverageAtStart,
      startedAt: env.startedAt,
    },
    packages: env.packages,
  };
}
