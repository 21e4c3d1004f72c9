/**
 * The run root: one temp directory per test run (or per process when used outside Vitest) that holds
 * the temp dirs of servers and a record of every spawned server process, so that nothing survives a
 * failed or crashed test run:
 *
 *   <os.tmpdir()>/sensorfleet-harness/run-XXXXXX/
 *     owner.json          who made this root (pid + start time), for the stale-run sweep
 *     pids/<pid>.json     one file per live server process (removed when it exits)
 *     redis-XXXXXX/ …     temp dirs of servers started without an explicit `dir`
 *
 * Vitest's global setup creates the root and exports it in SENSORFLEET_HARNESS_ROOT so forked workers
 * share it; a process that finds no such variable creates (and on exit removes) its own root.
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isSameProcess, pidExists, procStartTicks, signalGroup } from './proc.js';

export const ROOT_ENV = 'SENSORFLEET_HARNESS_ROOT';

interface OwnerRecord {
  pid: number;
  startTicks?: string;
  createdAt: string;
}

export interface PidRecord {
  pid: number;
  startTicks?: string;
  owner: number;
  command: string;
  dir: string;
}

let currentRoot: string | undefined;
/** True when this process created the root itself (not inherited) and so removes it on exit. */
let ownsRoot = false;
/** Server processes spawned by this process and not yet seen to exit. */
const liveChildren = new Map<number, PidRecord>();
let handlersInstalled = false;

/** Parent folder of all run roots and of the MariaDB template (shared by all runs on this machine). */
export function harnessBase(): string {
  return path.join(os.tmpdir(), 'sensorfleet-harness');
}

/** Create a fresh run root owned by this process. Does not change the environment. */
export function createRunRoot(): string {
  const base = harnessBase();
  mkdirSync(base, { recursive: true });
  const root = mkdtempSync(path.join(base, 'run-'));
  const owner: OwnerRecord = {
    pid: process.pid,
    startTicks: procStartTicks(process.pid),
    createdAt: new Date().toISOString(),
  };
  writeFileSync(path.join(root, 'owner.json'), JSON.stringify(owner) + '\n');
  mkdirSync(path.join(root, 'pids'));
  return root;
}

/** The temp root of this test run (created on first use when no global setup made one). */
export function harnessRoot(): string {
  const fromEnv = process.env[ROOT_ENV];
  if (fromEnv) {
    if (currentRoot !== fromEnv) {
      currentRoot = fromEnv;
      ownsRoot = false;
    }
    mkdirSync(path.join(fromEnv, 'pids'), { recursive: true });
    return fromEnv;
  }
  if (currentRoot === undefined || !existsSync(currentRoot)) {
    currentRoot = createRunRoot();
    ownsRoot = true;
    // Child processes of this one (services under test that use the harness themselves) share it.
    process.env[ROOT_ENV] = currentRoot;
    installExitHandlers();
  }
  return currentRoot;
}

function pidFile(root: string, pid: number): string {
  return path.join(root, 'pids', `${pid}.json`);
}

/** Record a spawned server process (in the run root and for this process's exit handler). */
export function recordChild(pid: number, command: string, dir: string): void {
  const record: PidRecord = { pid, startTicks: procStartTicks(pid), owner: process.pid, command, dir };
  liveChildren.set(pid, record);
  installExitHandlers();
  try {
    writeFileSync(pidFile(harnessRoot(), pid), JSON.stringify(record) + '\n');
  } catch {
    // the root was removed under us (teardown raced); the exit handler still knows the pid
  }
}

/** Forget a server process that has exited. */
export function forgetChild(pid: number): void {
  liveChildren.delete(pid);
  if (currentRoot === undefined) return;
  try {
    unlinkSync(pidFile(currentRoot, pid));
  } catch {
    // already gone
  }
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/**
 * SIGKILL the process group of one recorded server, unless its pid now belongs to another process.
 * If the leader is gone, its group may still hold forked helpers; a pid number is never reused while a
 * group of that id exists, so signalling the group is then safe.
 */
function killRecord(record: PidRecord): boolean {
  const alive = pidExists(record.pid);
  if (alive && !isSameProcess(record.pid, record.startTicks)) return false;
  signalGroup(record.pid, 'SIGKILL');
  if (alive) {
    try {
      process.kill(record.pid, 'SIGKILL'); // in case it left its group
    } catch {
      // gone
    }
  }
  return true;
}

/** SIGKILL every process recorded under `root` that is still alive; returns how many were signalled. */
export function killRecorded(root: string): number {
  let killed = 0;
  let files: string[];
  try {
    files = readdirSync(path.join(root, 'pids'));
  } catch {
    return 0;
  }
  for (const name of files) {
    const file = path.join(root, 'pids', name);
    const record = readJson<PidRecord>(file);
    if (record && typeof record.pid === 'number') {
      const alive = pidExists(record.pid);
      if (killRecord(record) && alive) killed++;
    }
    try {
      unlinkSync(file);
    } catch {
      // ignore
    }
  }
  return killed;
}

/** Remove a run root (best effort, retried: processes killed a moment ago may still be closing files). */
export function removeRoot(root: string): void {
  try {
    rmSync(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  } catch {
    // ignore: a later sweep retries
  }
}

/**
 * Find run roots left by earlier runs whose owner process is dead (a recycled pid counts as dead: its
 * start time differs from the recorded one), kill the processes they recorded and remove them.
 * Returns the roots removed.
 */
export function sweepStaleRuns(except?: string): string[] {
  const base = harnessBase();
  const removed: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync(base);
  } catch {
    return removed;
  }
  for (const name of entries) {
    // Half-built MariaDB templates of builders that died (the pid is part of the name).
    const builder = /\.build-(\d+)-/.exec(name);
    if (builder && !pidExists(Number(builder[1]))) {
      removeRoot(path.join(base, name));
      continue;
    }
    if (!name.startsWith('run-')) continue;
    const root = path.join(base, name);
    if (except !== undefined && path.resolve(root) === path.resolve(except)) continue;
    const owner = readJson<OwnerRecord>(path.join(root, 'owner.json'));
    if (owner) {
      if (isSameProcess(owner.pid, owner.startTicks)) continue;
    } else {
      // No owner record: either being created this instant or damaged. Leave young ones alone.
      try {
        if (Date.now() - statSync(root).mtimeMs < 60_000) continue;
      } catch {
        continue;
      }
    }
    killRecorded(root);
    removeRoot(root);
    removed.push(root);
  }
  return removed;
}

/** More synchronous cleanup for process exit (resources that are not processes, e.g. namespaces). */
const exitCleanups = new Set<() => void>();

/**
 * Run `cleanup` (synchronously) when this process exits, like the kill of recorded children; returns a
 * function that unregisters it (call it once the resource is released normally).
 */
export function onExitCleanup(cleanup: () => void): () => void {
  exitCleanups.add(cleanup);
  installExitHandlers();
  return () => exitCleanups.delete(cleanup);
}

/** Synchronous cleanup for process exit: SIGKILL our children, remove a root we own. */
function cleanupSync(): void {
  for (const record of [...liveChildren.values()]) {
    killRecord(record);
    forgetChild(record.pid);
  }
  for (const cleanup of [...exitCleanups]) {
    exitCleanups.delete(cleanup);
    try {
      cleanup();
    } catch {
      // best effort: the stale sweep of the next run retries
    }
  }
  if (ownsRoot && currentRoot !== undefined && process.env[ROOT_ENV] === currentRoot) {
    removeRoot(currentRoot);
  }
}

function installExitHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', cleanupSync);
  // A fatal signal skips 'exit'. If nobody else handles the signal, clean up and die by it as before;
  // if the program has its own handler, leave it alone (it will exit, and 'exit' cleans up).
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const handler = (): void => {
      if (process.listenerCount(signal) > 1) return;
      cleanupSync();
      process.removeListener(signal, handler);
      process.kill(process.pid, signal);
    };
    process.on(signal, handler);
  }
}
