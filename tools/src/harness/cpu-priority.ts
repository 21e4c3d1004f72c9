import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';

/**
 * A process's CPU priority against the other services on the machine (what `cpu_shares` of a container
 * gives in a deployment). Niceness alone does not do it here: with the kernel's autogroup scheduling
 * (`/proc/sys/kernel/sched_autogroup_enabled`, on in Debian's kernels and this machine's) every session is
 * one scheduling group and the CPU is shared between the groups first; a thread's niceness only weighs it
 * against the other threads of its own group. The harness starts each service in a session of its own
 * (so that a kill reaches its whole process group), so each is a group alone, and `setpriority` changed
 * nothing between services: the group's nice (`/proc/<pid>/autogroup`) does. Both are set.
 */

const AUTOGROUP_ENABLED = '/proc/sys/kernel/sched_autogroup_enabled';

/**
 * The bulk path's niceness on one machine (the local stack; the system bench's default): the receivers and
 * MariaDB behind the broker and the web admin, the same weight as their `cpu_shares` in
 * docker-compose.backend.yml (the kernel's weight for niceness 10 is 110 against 1,024 for 0; 10 is also what
 * `nice` gives a batch job by default). A backlog's storing then takes what the live path leaves, instead
 * of every hop of a live reading queueing for a core behind it; with nothing else to run it still gets
 * every core (bench-results/README.md, "2026-12-07: the live path first").
 */
export const BULK_PATH_NICE = 10;

/** The kernel's CPU weight of niceness 0–19 (`sched_prio_to_weight`), what `cpu_shares` is compared with. */
const NICE_WEIGHTS = [
  1024, 820, 655, 526, 423, 335, 272, 215, 172, 137, 110, 87, 70, 56, 45, 36, 29, 23, 18, 15,
];

export function niceWeight(nice: number): number {
  const weight = NICE_WEIGHTS[nice];
  if (weight === undefined) throw new RangeError(`niceness ${nice}: 0–19 only`);
  return weight;
}

/** Whether the kernel schedules sessions as groups (false where the file is missing: no autogroup). */
export function autogroupEnabled(): boolean {
  try {
    return readFileSync(AUTOGROUP_ENABLED, 'utf8').trim() === '1';
  } catch {
    return false;
  }
}

export interface Autogroup {
  /** The group's name, e.g. `/autogroup-219`. */
  name: string;
  nice: number;
}

/** `/autogroup-219 nice 0` → { name, nice }; undefined for anything else. */
export function parseAutogroup(text: string): Autogroup | undefined {
  const m = /^(\/autogroup-\d+)\s+nice\s+(-?\d+)\s*$/.exec(text.trim());
  return m ? { name: m[1]!, nice: Number(m[2]) } : undefined;
}

/** The autogroup of a process; undefined when the process is gone or the kernel has none. */
export function autogroupOf(pid: number | 'self'): Autogroup | undefined {
  try {
    return parseAutogroup(readFileSync(`/proc/${pid}/autogroup`, 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * Gives a process (every thread, and its autogroup when it is not the caller's own: that would slow the
 * bench's measuring too) the niceness `nice`. False when something was refused (a niceness lower than the
 * current one needs root or CAP_SYS_NICE); a process that is gone, or has no pid, counts as done.
 */
export function setCpuPriority(pid: number | undefined, nice: number): boolean {
  if (pid === undefined) return true;
  let ok = reniceThreads(pid, nice);
  if (!autogroupEnabled()) return ok;
  const group = autogroupOf(pid);
  if (group && group.name !== autogroupOf('self')?.name && group.nice !== nice) {
    try {
      writeFileSync(`/proc/${pid}/autogroup`, String(nice));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') ok = false;
    }
  }
  return ok;
}

/** Niceness is per thread in Linux (MariaDB's connection threads keep theirs if only the main one is set). */
function reniceThreads(pid: number, nice: number): boolean {
  let tids: number[];
  try {
    tids = readdirSync(`/proc/${pid}/task`).map(Number);
  } catch {
    tids = [pid];
  }
  return tids.every((tid) => {
    try {
      os.setPriority(tid, nice);
      return true;
    } catch (err) {
      // Node wraps it: code ERR_SYSTEM_ERROR, the errno name in `info.code`.
      const e = err as NodeJS.ErrnoException & { info?: { code?: string } };
      return e.code === 'ESRCH' || e.info?.code === 'ESRCH';
    }
  });
}
