import { readFileSync } from 'node:fs';

/** Times (ms since the epoch) of pino log lines (ISO `time`) whose msg matches: pure, on the text. */
export function logLineTimes(text: string, msg: RegExp): number[] {
  const times: number[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const entry = JSON.parse(line) as { time?: string | number; msg?: string };
      const time = typeof entry.time === 'number' ? entry.time : Date.parse(entry.time ?? '');
      if (Number.isFinite(time) && msg.test(entry.msg ?? '')) times.push(time);
    } catch {
      // not a log line (e.g. a stack trace)
    }
  }
  return times;
}

/** The same for a service's output file; a file not there yet has no lines. */
export function serviceLogTimes(file: string, msg: RegExp): number[] {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return logLineTimes(text, msg);
}
