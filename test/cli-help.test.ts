/**
 * `ringtable --help` and `ringtable <command> --help` explain every option:
 * each option the commands define (read from the commander definitions, so
 * a new option is covered without editing this test) has a description and
 * appears in the bin's help text, and the top-level help names every command.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import type { Command } from 'commander';
import { benchCommand } from '../bench/bench-command.js';
import { serveCommand } from '../lib/cli/serve-command.js';

const CLI = join(fileURLToPath(import.meta.url), '..', '..', 'lib', 'cli', 'ringtable.js');

function help(...args: string[]): string {
  return execFileSync(process.execPath, [CLI, ...args, '--help'], { encoding: 'utf8' });
}

/** Help text wraps long descriptions: compare with whitespace collapsed. */
function flat(text: string): string {
  return text.replace(/\s+/g, ' ');
}

for (const [name, command] of [['serve', serveCommand()], ['bench', benchCommand()]] as Array<[string, Command]>) {
  t.test(`ringtable ${name} --help explains every option`, async (t) => {
    const text = flat(help(name));
    t.ok(command.options.length > 0, 'the command has options');
    for (const option of command.options) {
      t.ok(option.description.trim().length > 10, `${option.flags} has a description`);
      t.ok(text.includes(option.flags), `${option.flags} appears in the help`);
      t.ok(text.includes(flat(option.description)), `${option.flags}'s description appears in the help`);
    }
    t.ok(text.includes(flat(command.description())), 'the command is described');
  });
}

t.test('ringtable bench tables --help explains every option', async (t) => {
  const tables = benchCommand().commands.find((command) => command.name() === 'tables');
  t.ok(tables !== undefined, 'bench has a tables subcommand');
  const text = flat(help('bench', 'tables'));
  for (const option of tables!.options) {
    t.ok(option.description.trim().length > 10, `${option.flags} has a description`);
    t.ok(text.includes(option.flags), `${option.flags} appears in the help`);
  }
});

t.test('ringtable --help names every command, with its description', async (t) => {
  const text = flat(help());
  for (const command of [serveCommand(), benchCommand()]) {
    t.ok(text.includes(command.name()), `${command.name()} is listed`);
    t.ok(text.includes(flat(command.description()).slice(0, 40)), `${command.name()} is described`);
  }
  t.match(text, /ringtable <command> --help/, 'points at the per-command help');
  t.match(text, /ringtable bench tables --help/, 'points at the help of bench\'s subcommand');
});

t.test('serve --help names the credential environment variables and an SDK line', async (t) => {
  const text = help('serve');
  t.match(text, /RINGTABLE_ACCESS_KEY_ID/);
  t.match(text, /RINGTABLE_SECRET_ACCESS_KEY/);
  t.match(text, /new DynamoDBClient\(\{ endpoint: 'http:\/\/127\.0\.0\.1:8000'/);
});
