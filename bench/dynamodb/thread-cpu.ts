/**
 * CPU time of this process's threads, one by one, from Linux's
 * /proc/self/task/<tid>/stat (proc(5): fields 14 utime and 15 stime, in clock
 * ticks of 10 ms). process.cpuUsage() sums every thread; this splits the sum
 * into the main thread (coordinator, tables layer, HTTP), the storage-node
 * threads (their ids are the ones that appeared while the Database opened)
 * and the rest (V8's GC and compiler helpers, libuv's pool, where lmdb-js
 * commits). Empty where /proc is not there.
 */
import { readdirSync, readFileSync } from 'node:fs';

const MICROS_PER_TICK = 10_000; // USER_HZ is 100 on every common Linux architecture

/** Microseconds of CPU each live thread has used, by thread id. */
export function threadCpuMicros(): Map<string, number> {
  const threads = new Map<string, number>();
  let ids: string[];
  try {
    ids = readdirSync('/proc/self/task');
  } catch {
    return threads;
  }
  for (const id of ids) {
    try {
      const stat = readFileSync(`/proc/self/task/${id}/stat`, 'utf8');
      // The command name (field 2) is in parentheses and may hold spaces: count fields after its closing one.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      threads.set(id, (Number(fields[11]) + Number(fields[12])) * MICROS_PER_TICK);
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return threads;
}

export interface CpuSplit {
  main: number;
  storage: number;
  other: number;
  total: number;
}

/** CPU used between two readings, split into main, storage-node and other threads, divided by `per`. */
export function cpuSplit(before: Map<string, number>, after: Map<string, number>, storageThreads: ReadonlySet<string>, per: number): CpuSplit {
  const split = { main: 0, storage: 0, other: 0, total: 0 };
  const mainId = String(process.pid);
  for (const [id, micros] of after) {
    const used = micros - (before.get(id) ?? 0);
    if (id === mainId) split.main += used;
    else if (storageThreads.has(id)) split.storage += used;
    else split.other += used;
    split.total += used;
  }
  return { main: split.main / per, storage: split.storage / per, other: split.other / per, total: split.total / per };
}
