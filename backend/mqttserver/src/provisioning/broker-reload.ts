import { readFileSync } from 'node:fs';

/** Where the broker's pid comes from: a flag / MOSQUITTO_PID, else MOSQUITTO_PID_FILE. */
export interface BrokerTarget {
  pid?: number;
  pidFile?: string;
}

export type ReloadOutcome =
  | { kind: 'reloaded'; pid: number; source: string }
  | { kind: 'no-pid' }
  | { kind: 'failed'; reason: string }
  /** A broker that applies account changes at once (RabbitMQ): nothing to reload. */
  | { kind: 'immediate' };

/** The process name of `pid` from /proc, or undefined where there is no /proc (macOS) or no such pid. */
function processName(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function procAvailable(): boolean {
  return processName(process.pid) !== undefined;
}

/**
 * SIGHUP makes Mosquitto re-read its password and ACL files, and disconnect clients whose credentials are
 * gone. A stale pid file could name some other process by now, and SIGHUP ends most processes, so where
 * /proc tells, only a process called `mosquitto` is signalled.
 */
export function reloadBroker(target: BrokerTarget): ReloadOutcome {
  let pid = target.pid;
  let source = 'the given pid';
  if (pid === undefined && target.pidFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(target.pidFile, 'utf8').trim();
    } catch (err) {
      return { kind: 'failed', reason: `cannot read pid file ${target.pidFile}: ${(err as Error).message}` };
    }
    if (!/^\d+$/.test(text) || Number(text) < 1) {
      return { kind: 'failed', reason: `pid file ${target.pidFile} holds no pid (${JSON.stringify(text)})` };
    }
    pid = Number(text);
    source = `pid file ${target.pidFile}`;
  }
  if (pid === undefined) return { kind: 'no-pid' };
  if (procAvailable()) {
    const name = processName(pid);
    if (name === undefined) return { kind: 'failed', reason: `no process ${pid} (from ${source})` };
    if (!name.startsWith('mosquitto')) {
      return {
        kind: 'failed',
        reason: `process ${pid} (from ${source}) is ${JSON.stringify(name)}, not mosquitto: not signalled`,
      };
    }
  }
  try {
    process.kill(pid, 'SIGHUP');
  } catch (err) {
    return { kind: 'failed', reason: `SIGHUP to ${pid} (from ${source}) failed: ${(err as Error).message}` };
  }
  return { kind: 'reloaded', pid, source };
}
