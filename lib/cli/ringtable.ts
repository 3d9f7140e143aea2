#!/usr/bin/env node
/**
 * The `ringtable` bin: `ringtable bench` (YCSB workloads, bench/) and
 * `ringtable serve` (DynamoDB's API over HTTP, lib/server/). It lives here,
 * above both, so that neither depends on the other (ARCHITECTURE.md). The
 * command line is parsed by commander (the most used, maintained Node CLI
 * library: subcommands, typed option parsers, generated --help with defaults
 * and choices, no dependencies of its own).
 *
 * Exit codes: 0 done, 1 the run failed, 2 invalid command line.
 */
import { Command, CommanderError } from 'commander';
import { benchCommand } from '../../bench/bench-command.js';
import { UsageError } from '../../bench/ycsb/bench-options.js';
import { serveCommand } from './serve-command.js';

const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

export async function main(argv: string[]): Promise<number> {
  const program = new Command('ringtable')
    .description('ringtable: an embedded Dynamo-style replicated key-value and table store')
    .addHelpText('after', '\nRun `ringtable <command> --help` for every option of a command, and `ringtable bench tables --help`\n' +
      'for DynamoDB access patterns under the capacity model (a subcommand of bench).\n' +
      'Exit codes: 0 done, 1 the run failed, 2 invalid command line.')
    .exitOverride()
    // Options after a subcommand's name are that subcommand's (`bench tables --nodes 2` is not bench's --nodes).
    .enablePositionalOptions();
  program.addCommand(benchCommand().exitOverride());
  program.addCommand(serveCommand().exitOverride());
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // commander has already printed the message or the help.
      return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help' ? 0 : EXIT_USAGE;
    }
    const command = argv[2] ?? 'ringtable';
    if (error instanceof UsageError) {
      console.error(`error: ${error.message}\n(run \`ringtable ${command} --help\` for every option)`);
      return EXIT_USAGE;
    }
    const code = (error as { code?: unknown }).code;
    console.error(`ringtable ${command} failed: ${(error as Error).message}${typeof code === 'string' ? ` (${code})` : ''}`);
    if (process.env.RINGTABLE_DEBUG !== undefined) console.error(error);
    return EXIT_FAILED;
  }
}

// `ringtable bench --help | head` closes the pipe early: that is the reader's
// choice, not a failure, so end quietly instead of with an EPIPE stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(process.exitCode ?? 0);
  });
}

process.exitCode = await main(process.argv);
