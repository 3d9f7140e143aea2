/**
 * A redis-server of the benchmark's own, for the Redis baselines (issue 15,
 * target 2): started on a free loopback port with nothing on disk (`--save ''
 * --appendonly no`: its durability is 'none', what the comparison assumes),
 * and stopped by its own pid when the baseline closes, so a run needs no
 * server set up beforehand and leaves none behind.
 *
 *   ringtable bench --baselines redis --redis-server              (redis-server from PATH)
 *   ringtable bench --baselines redis --redis-server /opt/redis/bin/redis-server
 */
import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import os from 'node:os';

export const REDIS_SERVER_DEFAULT_COMMAND = 'redis-server';
/** How long a started server may take to accept a connection. */
const READY_WAIT_MS = 10_000;
const READY_POLL_MS = 50;
/** How long a stopped server may take to exit before it is killed. */
const STOP_WAIT_MS = 5_000;
/** Bound on the server's output kept for an error message. */
const OUTPUT_BYTES_MAX = 4096;

/** The arguments a benchmark's server runs with: loopback only, no persistence, no daemon (so its pid is ours to stop). */
export function redisServerArgs(port: number): string[] {
  return ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--protected-mode', 'yes', '--loglevel', 'warning'];
}

/** A loopback port nothing listens on right now (the OS picks it). */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.setTimeout(READY_POLL_MS * 4);
    let reply = '';
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (data) => {
      reply += data.toString('latin1');
      if (reply.includes('\r\n')) {
        socket.destroy();
        resolve(reply.startsWith('+PONG'));
      }
    });
    socket.on('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.on('error', () => resolve(false));
  });
}

export class RedisServer {
  readonly port: number;
  readonly command: string;
  private readonly child: ChildProcess;
  private readonly exited: Promise<void>;
  private hasExited = false;
  private output = '';

  private constructor(command: string, port: number) {
    this.command = command;
    this.port = port;
    this.child = spawn(command, redisServerArgs(port), { cwd: os.tmpdir(), stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (data: Buffer) => {
      if (this.output.length < OUTPUT_BYTES_MAX) this.output += data.toString('utf8').slice(0, OUTPUT_BYTES_MAX - this.output.length);
    };
    this.child.stdout!.on('data', keep);
    this.child.stderr!.on('data', keep);
    this.exited = new Promise<void>((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.once('error', (error) => {
        keep(Buffer.from(error.message));
        resolve();
      });
    }).then(() => {
      this.hasExited = true;
    });
  }

  /** Start one on a free loopback port; resolves once it answers PING, rejects with its output if it exits or never answers. */
  static async start(command = REDIS_SERVER_DEFAULT_COMMAND): Promise<RedisServer> {
    const server = new RedisServer(command, await freeLoopbackPort());
    const giveUpMs = Date.now() + READY_WAIT_MS;
    while (!server.hasExited && Date.now() < giveUpMs) {
      if (await answers(server.port)) return server;
      await new Promise((resolve) => setTimeout(resolve, READY_POLL_MS));
    }
    await server.stop();
    throw new Error(`${command} did not start on 127.0.0.1:${server.port}${server.output === '' ? '' : `: ${server.output.trim()}`}`);
  }

  /** SIGTERM to this server's pid (and SIGKILL if it has not exited in time); resolves once it exited. */
  async stop(): Promise<void> {
    if (this.hasExited) return;
    this.child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), STOP_WAIT_MS)));
    if ((await Promise.race([this.exited, late])) === 'late') {
      this.child.kill('SIGKILL');
      await this.exited;
    }
    clearTimeout(timer);
  }
}
