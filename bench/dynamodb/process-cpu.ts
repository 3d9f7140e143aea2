/**
 * CPU time of another process (a server under test in its own child), all
 * its threads, user + system, from Linux's /proc/<pid>/stat (proc(5): fields
 * 14 utime and 15 stime, in clock ticks). Under a load generator on a shared
 * machine, requests per second swing with whatever else runs; the server's
 * CPU per request does much less, so it is the steadier comparison of two
 * servers. Undefined where /proc is not there.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;

function clockTicksPerSecond(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100; // Linux's USER_HZ on every common architecture
    }
  }
  return ticksPerSecond;
}

/** Microseconds of CPU the process has used so far, or undefined when /proc cannot say. */
export function processCpuMicros(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces: count fields after its closing one.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
  return ((utime + stime) / clockTicksPerSecond()) * 1e6;
}
