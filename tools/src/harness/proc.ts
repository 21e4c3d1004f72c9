/**
 * Small process helpers used by the harness: liveness checks that survive pid reuse, and
 * process-group kills (servers are spawned as group leaders, so forked helpers die with them).
 */
import { readFileSync } from 'node:fs';

/**
 * Start time of a process in clock ticks since boot (field 22 of /proc/PID/stat), or undefined when
 * the process does not exist or /proc is not available (non-Linux).
 */
export function procStartTicks(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may contain spaces: parse after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // rest[0] is field 3 (state), so field 22 is rest[19].
    return rest[19];
  } catch {
    return undefined;
  }
}

/** True when a process with this pid exists (zombies included). */
export function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * True when `pid` is still the very process we recorded: it exists and, where /proc is available,
 * has the recorded start time (so a recycled pid is not mistaken for it).
 */
export function isSameProcess(pid: number, startTicks: string | undefined): boolean {
  if (!pidExists(pid)) return false;
  if (startTicks === undefined) return true;
  const now = procStartTicks(pid);
  return now === undefined || now === startTicks;
}

/**
 * Send a signal to a process group (servers are spawned as group leaders, so this also reaches any
 * helper they forked, e.g. Redis's AOF rewrite child). Never throws; no-op when the group is gone.
 */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  if (!Number.isInteger(pid) || pid <= 1) return; // never -1 (everything) or 1 (init)
  try {
    process.kill(-pid, signal);
  } catch {
    // no such group
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
