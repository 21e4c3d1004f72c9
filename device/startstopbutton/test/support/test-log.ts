import type { ButtonLog } from '../../src/start-stop-button.js';

export interface LogEntry {
  level: 'info' | 'warn' | 'error' | 'debug';
  obj: unknown;
  msg: string | undefined;
}

/** A pino-like logger that records entries (pino's `(obj, msg)` and `(msg)` call forms). */
export function createTestLog(): { log: ButtonLog; entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const at =
    (level: LogEntry['level']) =>
    (objOrMsg: unknown, msg?: string): void => {
      if (typeof objOrMsg === 'string') entries.push({ level, obj: undefined, msg: objOrMsg });
      else entries.push({ level, obj: objOrMsg, msg });
    };
  const log = {
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    debug: at('debug'),
  } as unknown as ButtonLog;
  return { log, entries };
}
