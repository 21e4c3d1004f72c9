/** Times as the receiver writes them to DATETIME columns: UTC, the way the pool (timezone 'Z') reads them. */

/** `2026-11-23 10:00:00.123`: DATETIME(3) in UTC, the way the pool (timezone 'Z') reads it back. */
export function sqlDateTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 23).replace('T', ' ');
}

/** The UTC minute of a time, as DATETIME: `2026-11-23 10:00:00`. */
export function sqlMinute(ms: number): string {
  return new Date(ms - (((ms % 60_000) + 60_000) % 60_000)).toISOString().slice(0, 19).replace('T', ' ');
}
