/**
 * dynalite (the Node DynamoDB emulator, a devDependency used only by the
 * benchmarks) in its own process, as `ringtable serve` runs in its own:
 * `dynalite({ createTableMs: 0 })` (in-memory, tables ACTIVE at once) on a
 * free loopback port, printed as "listening <port>"; SIGINT or SIGTERM
 * closes it.
 */
import { createRequire } from 'node:module';
import type { Server } from 'node:http';

const require = createRequire(import.meta.url);
const dynalite = require('dynalite') as (options: { createTableMs: number; deleteTableMs: number; updateTableMs: number }) => Server;

const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  console.log(`listening ${typeof address === 'object' && address !== null ? address.port : ''}`);
});
const stop = (): void => { server.close(() => process.exit(0)); };
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
