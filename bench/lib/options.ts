/**
 * Command-line options for benchmarks, on node:util parseArgs. Every option
 * has a default and a line of help; sizes accept 100k / 1m / 1_000_000.
 * `--seed` and `--json FILE` are common to all benchmarks.
 */
import { parseArgs } from 'node:util';

export interface IntSpec {
  kind: 'int';
  default: number;
  min?: number;
  help: string;
}

export interface ChoiceSpec<C extends string = string> {
  kind: 'choice';
  default: C;
  choices: readonly C[];
  help: string;
}

export interface StringSpec {
  kind: 'string';
  help: string;
  /** How usage names the value, e.g. FILE. */
  metavar?: string;
}

export type Spec = IntSpec | ChoiceSpec | StringSpec;

type ValueOf<S extends Spec> = S extends IntSpec ? number : S extends ChoiceSpec<infer C> ? C : string | undefined;
export type Parsed<T extends Record<string, Spec>> = { [K in keyof T]: ValueOf<T[K]> } & { seed: number; json: string | undefined };

export const int = (defaultValue: number, help: string, min = 1): IntSpec => ({ kind: 'int', default: defaultValue, min, help });
export const choice = <C extends string>(defaultValue: C, choices: readonly C[], help: string): ChoiceSpec<C> => ({ kind: 'choice', default: defaultValue, choices, help });
export const text = (help: string, metavar = 'TEXT'): StringSpec => ({ kind: 'string', help, metavar });

const COMMON = {
  seed: int(42, 'seed of every PRNG stream (keys, values, access order)', 0),
  json: text('also write the report (configuration and figures) to FILE as JSON', 'FILE'),
};

function parseSize(name: string, raw: string, min: number): number {
  const match = /^(\d[\d_]*)(k|m)?$/i.exec(raw.trim());
  if (match === null) throw new Error(`--${name} must be an integer (100k, 1m and 1_000_000 are fine), got ${raw}`);
  const scale = match[2] === undefined ? 1 : match[2].toLowerCase() === 'k' ? 1e3 : 1e6;
  const value = Number(match[1]!.replaceAll('_', '')) * scale;
  if (!Number.isSafeInteger(value) || value < min) throw new Error(`--${name} must be >= ${min}, got ${raw}`);
  return value;
}

function usage(command: string, summary: string, specs: Record<string, Spec>): string {
  const lines = [`usage: ${command} [options]`, '', summary, '', 'options:'];
  for (const [name, spec] of Object.entries(specs)) {
    const shown = spec.kind === 'int' ? `--${name} N` : spec.kind === 'choice' ? `--${name} ${spec.choices.join('|')}` : `--${name} ${spec.metavar ?? 'TEXT'}`;
    const fallback = spec.kind === 'string' ? '' : ` (default ${spec.default})`;
    lines.push(`  ${shown.padEnd(34)} ${spec.help}${fallback}`);
  }
  lines.push(`  ${'--help'.padEnd(34)} this text`);
  return lines.join('\n');
}

/** Parse process.argv; prints usage and exits on --help or a bad option. */
export function parseOptions<T extends Record<string, Spec>>(command: string, summary: string, specs: T): Parsed<T> {
  const all: Record<string, Spec> = { ...specs, ...COMMON };
  const config: Record<string, { type: 'string' | 'boolean' }> = { help: { type: 'boolean' } };
  for (const name of Object.keys(all)) config[name] = { type: 'string' };
  try {
    const { values } = parseArgs({ args: process.argv.slice(2), options: config, strict: true, allowPositionals: false });
    if (values.help === true) {
      console.log(usage(command, summary, all));
      process.exit(0);
    }
    const out: Record<string, unknown> = {};
    for (const [name, spec] of Object.entries(all)) {
      const raw = values[name] as string | undefined;
      if (spec.kind === 'int') out[name] = raw === undefined ? spec.default : parseSize(name, raw, spec.min ?? 1);
      else if (spec.kind === 'choice') {
        if (raw !== undefined && !spec.choices.includes(raw)) throw new Error(`--${name} must be one of ${spec.choices.join(', ')}, got ${raw}`);
        out[name] = raw ?? spec.default;
      } else out[name] = raw;
    }
    return out as Parsed<T>;
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${usage(command, summary, all)}`);
    process.exit(2);
  }
}
