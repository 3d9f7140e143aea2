/**
 * `ringtable serve`: DynamoDB's API over HTTP on a Database of this machine,
 * for code written against the AWS SDK (port 8000 and region-free endpoint,
 * as DynamoDB Local). The server (lib/server/serve.ts) binds 127.0.0.1 unless
 * told otherwise, and refuses any other address without credentials, whose
 * signatures it then verifies on every request.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { Database } from '../tables/database.js';
import { DEFAULT_HOST, DEFAULT_PORT, isLoopback, serve } from '../server/serve.js';
import { INSPECTOR_PATH, inspectorRoutes } from '../server/inspector.js';
import { sourcesOf } from '../server/inspector-snapshot.js';

interface ServeCommandOptions {
  port: number;
  host: string;
  path?: string;
  nodes: number;
  durability: 'sync' | 'async' | 'none';
  accessKeyId?: string;
  secretAccessKey?: string;
  region?: string;
  inspector: boolean;
  capacity: 'off' | 'observe' | 'enforce';
  capacityScale?: number;
}

function positiveNumber(text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new InvalidArgumentError(`expected a positive number, got '${text}'`);
  return value;
}

function integer(min: number, max: number): (text: string) => number {
  return (text) => {
    const value = Number(text);
    if (!/^\d+$/.test(text) || value < min || value > max) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}, got '${text}'`);
    return value;
  };
}

export function serveCommand(): Command {
  return new Command('serve')
    .description("Serve DynamoDB's API (JSON 1.0 over HTTP, as the AWS SDKs speak it) from a ringtable database on this machine. Ctrl-C closes the database cleanly.")
    .option('--port <port>', 'TCP port to listen on, 8000 as DynamoDB Local (0 picks a free one)', integer(0, 65535), DEFAULT_PORT)
    .option('--host <address>', 'address to bind; anything but loopback (127.0.0.1, ::1, localhost) requires credentials, and then every request\'s SigV4 signature is verified', DEFAULT_HOST)
    .option('--path <dir>', 'database directory (created if missing); default: a temporary directory removed on exit')
    .option('--nodes <count>', 'storage-node threads (one LMDB environment each) of a new database; an existing one keeps its own. Fewer serve faster on a machine with few cores (1: no replicas)', integer(1, 64), 4)
    .addOption(new Option('--durability <mode>', 'when a write is acknowledged: after fsync, after commit, or never synced').choices(['sync', 'async', 'none']).default('async'))
    .option('--access-key-id <id>', `access key whose SigV4 signatures are verified (or ${'$'}RINGTABLE_ACCESS_KEY_ID)`)
    .option('--secret-access-key <secret>', `its secret (or ${'$'}RINGTABLE_SECRET_ACCESS_KEY)`)
    .option('--region <name>', 'region in table ARNs and in DescribeEndpoints (default: ddblocal, as DynamoDB Local); clients may use any region')
    .addHelpText('after', [
      '', 'Environment:',
      '  RINGTABLE_ACCESS_KEY_ID, RINGTABLE_SECRET_ACCESS_KEY   credentials, instead of the two options',
      '', 'Examples:', '  ringtable serve --path ./data', '  ringtable serve --host 0.0.0.0 --access-key-id AKID --secret-access-key s3cret',
      '  ringtable serve --capacity enforce --capacity-scale 0.01',
      '', 'Then, with the AWS SDK for JavaScript v3:',
      "  new DynamoDBClient({ endpoint: 'http://127.0.0.1:8000', region: 'local', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } })",
    ].join('\n'))
    .addOption(new Option('--capacity <mode>', "DynamoDB's throughput model: off, observe (report would-be throttles) or enforce (throttle as DynamoDB)").choices(['off', 'observe', 'enforce']).default('off'))
    .option('--capacity-scale <factor>', 'multiply every throughput limit (0.01 makes a partition\'s 1,000 WCU into 10)', positiveNumber)
    .option('--no-inspector', `do not serve the live inspector page at ${INSPECTOR_PATH} (it is served on loopback only)`)
    .action(async (options: ServeCommandOptions) => {
      const temporary = options.path === undefined ? mkdtempSync(join(tmpdir(), 'ringtable-serve-')) : undefined;
      const path = options.path ?? temporary!;
      const database = await Database.open({
        path, nodes: options.nodes, durability: options.durability, capacity: options.capacity,
        ...(options.region === undefined ? {} : { region: options.region }),
        ...(options.capacityScale === undefined ? {} : { capacityScale: options.capacityScale }),
      });
      const credentials = options.accessKeyId !== undefined || options.secretAccessKey !== undefined ? { accessKeyId: options.accessKeyId ?? '', secretAccessKey: options.secretAccessKey ?? '' } : undefined;
      // The inspector has no authentication: mounted on loopback only (serve() refuses it elsewhere).
      const inspector = options.inspector && isLoopback(options.host) ? inspectorRoutes(sourcesOf(database)) : undefined;
      let server;
      try {
        server = await serve({ database, port: options.port, host: options.host, ...(credentials === undefined ? {} : { credentials }), ...(inspector === undefined ? {} : { inspector }) });
      } catch (error) {
        await database.close();
        if (temporary !== undefined) rmSync(temporary, { recursive: true, force: true });
        throw error;
      }
      console.log(`ringtable serving DynamoDB's API at ${server.url} (data in ${path}${temporary === undefined ? '' : ', temporary'})`);
      console.log(`  new DynamoDBClient({ endpoint: '${server.url}', region: 'local', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } })`);
      if (inspector !== undefined) console.log(`inspector at ${server.url}${INSPECTOR_PATH}`);
      else if (options.inspector) console.log(`inspector off: it has no authentication, so it is served on loopback only`);
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      console.log('closing: finishing requests in flight, then the database');
      await server.close();
      await database.close();
      if (temporary !== undefined) rmSync(temporary, { recursive: true, force: true });
    });
}
