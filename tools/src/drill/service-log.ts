import { readFileSync } from 'node:fs';

/** One pino log line: its time (ms since the epoch) and its fields. */
export interface LogEntry {
  time: number;
  fields: Record<string, unknown>;
}

/** The pino log lines (ISO or epoch `time`) whose msg matches: pure, on the text. */
export function logEntries(text: string, msg: RegExp): LogEntry[] {
  const out: LogEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const fields = JSON.parse(line) as Record<string, unknown>;
      const raw = fields.time;
      const time = typeof raw === 'number' ? raw : Date.parse(typeof raw === 'string' ? raw : '');
      if (Number.isFinite(time) && msg.test(typeof fields.msg === 'string' ? fields.msg : ''))
        out.push({ time, fields });
    } catch {
      // not a log line (e.g. a stack trace)
    }
  }
  return out;
}

/** Times of the matching lines. */
export function logLineTimes(text: string, msg: RegExp): number[] {
  return logEntries(text, msg).map((e) => e.time);
}

/** The matching lines of a service's output file; a file not there yet has none. */
export function serviceLogEntries(file: string, msg: RegExp): LogEntry[] {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return logEntries(text, msg);
}
