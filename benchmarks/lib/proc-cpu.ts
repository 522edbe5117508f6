/**
 * CPU time of processes from /proc/<pid>/stat (proc(5)): utime (field 14)
 * plus stime (field 15), in clock ticks. Threads are included in a process's
 * figures; forked workers are not, hence the tree variant.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;

function clockTicksPerSecond(): number {
  if (ticksPerSecond === undefined) {
    try {
      const v = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 2000 }).trim());
      ticksPerSecond = Number.isFinite(v) && v > 0 ? v : 100;
    } catch {
      ticksPerSecond = 100; // the Linux USER_HZ on every common platform
    }
  }
  return ticksPerSecond;
}

interface StatFields {
  ppid: number;
  ticks: number;
}

function readStat(pid: number): StatFields | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and ')'; fields after the last ')' are fixed.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state), so field n is rest[n - 3].
  const ppid = Number(rest[1]);
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(ppid) || !Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
  return { ppid, ticks: utime + stime };
}

/** utime + stime of one process in seconds; undefined when it is gone. */
export function readCpuSeconds(pid: number): number | undefined {
  const s = readStat(pid);
  return s === undefined ? undefined : s.ticks / clockTicksPerSecond();
}

/** utime + stime summed over a process and all its live descendants, in seconds. */
export function readTreeCpuSeconds(rootPid: number): number | undefined {
  const all = new Map<number, StatFields>();
  for (const entry of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    const s = readStat(Number(entry));
    if (s !== undefined) all.set(Number(entry), s);
  }
  if (!all.has(rootPid)) return undefined;
  const inTree = new Set<number>([rootPid]);
  // Walk down level by level; a process tree here is a few levels deep at most.
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, s] of all) {
      if (!inTree.has(pid) && inTree.has(s.ppid)) {
        inTree.add(pid);
        grew = true;
      }
    }
  }
  let ticks = 0;
  for (const pid of inTree) ticks += all.get(pid)?.ticks ?? 0;
  return ticks / clockTicksPerSecond();
}
