/**
 * 004's timestamps: ISO-8601 with a UTC offset (2025-12-19T14:30:00+08:00 is 06:30:00Z), unlike native
 * telemetry's UTC-only `ts`. Sub-millisecond digits are truncated.
 */
import { COMPAT004_TIMESTAMP_PATTERN } from '@sensorfleet/shared';
import { shown } from '../intake/reading-rules.js';

const TIMESTAMP_REGEX = new RegExp(COMPAT004_TIMESTAMP_PATTERN);

const daysInMonth = (year: number, month: number): number => new Date(Date.UTC(year, month, 0)).getUTCDate();

/**
 * Parses a 004 timestamp to a Date; `undefined` if it is not one, names an impossible date or time, or
 * lies before 1970-01-01T00:00:00Z (its seq would be negative).
 */
export function parseOffsetTimestamp(s: string): Date | undefined {
  const m = TIMESTAMP_REGEX.exec(s);
  if (!m) return undefined;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = Number(m[4]);
  const minute = Number(m[5]);
  const second = m[6] === undefined ? 0 : Number(m[6]);
  const ms = m[7] === undefined ? 0 : Number(m[7].slice(0, 3).padEnd(3, '0'));
  const offset = m[8] ?? '';
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  let offsetMinutes = 0;
  if (offset !== 'Z' && offset !== 'z') {
    const digits = offset.slice(1).replace(':', '');
    const oh = Number(digits.slice(0, 2));
    const om = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
    if (oh > 23 || om > 59) return undefined;
    offsetMinutes = (offset.startsWith('-') ? -1 : 1) * (oh * 60 + om);
  }
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second, ms) - offsetMinutes * 60_000);
  // Date.UTC maps years 0..99 to 1900..1999; those are before 1970 anyway and rejected here.
  if (year < 1970 || date.getTime() < 0) return undefined;
  return date;
}

export type TimeResolution = { ok: true; at: Date } | { ok: false; detail: string };

/** A `timestamp` field: undefined when absent (null counts as absent), else the time or why not. */
export function resolveTimestamp(raw: unknown, where: string): TimeResolution | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'string') {
    return { ok: false, detail: `${where} must be an ISO-8601 string with offset, got ${shown(raw)}` };
  }
  const at = parseOffsetTimestamp(raw);
  if (!at) {
    return {
      ok: false,
      detail: `${where} ${shown(raw)} is not an ISO-8601 time with UTC offset (e.g. 2025-12-19T14:30:00+08:00)`,
    };
  }
  return { ok: true, at };
}
