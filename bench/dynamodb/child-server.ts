/**
 * A server under test in a child process (so the load generator's event loop
 * and the server's do not share a thread): started, its URL read from what
 * it prints, stopped with SIGINT and awaited.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface ChildServer {
  readonly url: string;
  readonly pid: number;
  stop(): Promise<void>;
}

/** Starts `node script args...` and waits for `pattern` (whose first group is the URL or port) on its stdout. */
export function startChild(script: string, args: readonly string[], pattern: RegExp, toUrl: (match: string) => string): Promise<ChildServer> {
  const child: ChildProcess = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const found = pattern.exec(stdout);
      if (found !== null) {
        resolve({
          url: toUrl(found[1]!),
          pid: child.pid!,
          async stop() {
            child.kill('SIGINT');
            await exited;
          },
        });
      }
    });
    void exited.then(() => reject(new Error(`${script} exited before it listened: ${stderr}`)));
  });
}
