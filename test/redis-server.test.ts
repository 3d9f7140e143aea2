/**
 * bench/lib/redis-server.ts: the benchmark's own redis-server, started on a
 * free loopback port with nothing on disk and stopped by its pid. Driven with
 * a stand-in server (a script that answers PING as Redis does) and with
 * commands that fail, so the test needs no Redis installed.
 */
import t from 'tap';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { RedisServer, freeLoopbackPort, redisServerArgs } from '../bench/lib/redis-server.js';

function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.setTimeout(1000);
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (data) => {
      socket.destroy();
      resolve(data.toString('latin1').startsWith('+PONG'));
    });
    socket.on('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.on('error', () => resolve(false));
  });
}

/** An executable that takes redis-server's arguments, listens on --port, answers +PONG, and records its arguments. */
function standInServer(dir: string): { command: string; argsFile: string } {
  const command = path.join(dir, 'stand-in-redis-server');
  const argsFile = path.join(dir, 'args.json');
  fs.writeFileSync(
    command,
    [
      `#!${process.execPath}`,
      "const net = require('node:net');",
      "const fs = require('node:fs');",
      `fs.writeFileSync(${JSON.stringify(argsFile)}, JSON.stringify(process.argv.slice(2)));`,
      "const port = Number(process.argv[process.argv.indexOf('--port') + 1]);",
      "net.createServer((socket) => socket.on('data', () => socket.write('+PONG\\r\\n'))).listen(port, '127.0.0.1');",
    ].join('\n'),
  );
  fs.chmodSync(command, 0o755);
  return { command, argsFile };
}

t.test('the arguments: loopback only, the port, nothing on disk, not a daemon', async (t) => {
  const args = redisServerArgs(6390);
  const value = (flag: string) => args[args.indexOf(flag) + 1];
  t.equal(value('--port'), '6390');
  t.equal(value('--bind'), '127.0.0.1');
  t.equal(value('--save'), '', 'no RDB snapshots');
  t.equal(value('--appendonly'), 'no', 'no AOF');
  t.equal(value('--daemonize'), 'no', 'the pid we spawn is the server: stop() ends it');
});

t.test('a free loopback port can be listened on', async (t) => {
  const port = await freeLoopbackPort();
  t.ok(port > 0 && port < 65536);
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve));
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

t.test('start answers once the server does; stop ends that process', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringtable-redis-server-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const { command, argsFile } = standInServer(dir);
  const server = await RedisServer.start(command);
  t.equal(await answersPing(server.port), true, 'it answers on the port it was given');
  t.same(JSON.parse(fs.readFileSync(argsFile, 'utf8')), redisServerArgs(server.port), 'started with the benchmark arguments');
  await server.stop();
  t.equal(await answersPing(server.port), false, 'nothing answers once stopped');
  await server.stop();
  t.pass('a second stop is a no-op');
});

t.test('a server that cannot start is reported with its output, and nothing is left running', async (t) => {
  // node itself refuses redis-server's options and exits.
  await t.rejects(RedisServer.start(process.execPath), /did not start on 127\.0\.0\.1:\d+: .*bad option/);
  await t.rejects(RedisServer.start(path.join(os.tmpdir(), 'no-such-redis-server-here')), /did not start.*ENOENT/);
});
