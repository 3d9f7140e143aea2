/**
 * Imports only point down a layer, and folders never import each other in a
 * cycle (ARCHITECTURE.md). Reads the import lines of lib/ and workers/ (the
 * sources, next to this file's compiled copy) and fails on any that breaks
 * the order below.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Each layer may import its own and those with a lower rank. */
const RANKS: Record<string, number> = {
  // lib/'s own files that everything may use
  'lib/errors.ts': 0,
  'lib/prng.ts': 0,
  'lib/bytes.ts': 0,
  'lib/option-checks.ts': 0,
  'lib/bounds.ts': 0,
  // the pure core
  'lib/version': 1,
  'lib/ring': 1,
  'lib/quorum': 1,
  'lib/stats': 1,
  'lib/storage': 2,
  'lib/anti-entropy': 3,
  'lib/config': 4,
  'lib/transport': 5,
  'lib/node': 6,
  'lib/store': 7,
  'workers': 8,
  // the DynamoDB layers, over the Store's public API
  'lib/tables': 8,
  'lib/dynamodb': 9,
  'lib/server': 10,
  'lib/cli': 11,
  // the benchmarks, which only the bin (lib/cli) mounts; their own imports are not checked here
  'bench': 11,
  'lib/index.ts': 12,
};

/** The layer of a source file: its own entry (lib/'s files), else its folder under lib/, else workers. */
function layerOf(file: string): string {
  if (RANKS[file] !== undefined) return file;
  const parts = file.split('/');
  const layer = parts[0] === 'lib' ? `lib/${parts[1]}` : parts[0]!;
  if (RANKS[layer] === undefined) throw new Error(`${file}: no layer for ${layer}; add it to RANKS (and to ARCHITECTURE.md)`);
  return layer;
}

function sources(dir: string): string[] {
  const files: string[] = [];
  for (const name of readdirSync(join(ROOT, dir))) {
    const path = join(dir, name);
    if (statSync(join(ROOT, path)).isDirectory()) files.push(...sources(path));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) files.push(path);
  }
  return files;
}

/** Relative imports of a file, as repository paths of .ts sources. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const found: string[] = [];
  for (const match of text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+'(\.{1,2}\/[^']+)'/gms)) {
    const target = relative(ROOT, resolve(ROOT, dirname(file), match[1]!)).replace(/\.js$/, '.ts');
    found.push(target);
  }
  return found;
}

const files = [...sources('lib'), ...sources('workers')];

t.test('every import points down a layer or stays in its own', async (t) => {
  const upward: string[] = [];
  let checked = 0;
  for (const file of files) {
    const from = layerOf(file);
    for (const target of importsOf(file)) {
      checked++;
      const to = layerOf(target);
      if (RANKS[to]! > RANKS[from]!) upward.push(`${file} imports ${target} (${from} is below ${to})`);
    }
  }
  t.ok(checked > 100, `${checked} imports read`);
  t.same(upward, [], 'no import points up a layer');
});

t.test('no two folders import each other, directly or through others', async (t) => {
  const edges = new Map<string, Set<string>>();
  for (const file of files) {
    const from = layerOf(file);
    for (const target of importsOf(file)) {
      const to = layerOf(target);
      if (to !== from) (edges.get(from) ?? edges.set(from, new Set()).get(from)!).add(to);
    }
  }
  const cycles: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (layer: string, path: string[]): void => {
    if (state.get(layer) === 'done') return;
    if (state.get(layer) === 'visiting') {
      cycles.push([...path.slice(path.indexOf(layer)), layer].join(' -> '));
      return;
    }
    state.set(layer, 'visiting');
    for (const next of edges.get(layer) ?? []) visit(next, [...path, layer]);
    state.set(layer, 'done');
  };
  for (const layer of edges.keys()) visit(layer, []);
  t.same(cycles, [], 'no folder cycle');
});

t.test('the check itself sees an upward import', async (t) => {
  t.equal(layerOf('lib/transport/wire.ts'), 'lib/transport');
  t.ok(RANKS[layerOf('lib/node/replica.ts')]! > RANKS[layerOf('lib/transport/wire.ts')]!, 'transport is below node: transport importing node would fail');
  t.ok(importsOf('lib/store/store.ts').includes('lib/store/coordinator.ts'), 'imports are read as repository paths');
});
