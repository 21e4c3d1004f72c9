/** Times as the receiver writes them to DATETIME columns: UTC, the way the pool (timezone 'Z') reads them. */

// Formatting a Date is the costly part (toISOString per row showed up at ~5 % of the receiver's CPU with
// 1-reading messages). Caching the last second did not help there: a batch sorted by device and seq
// alternates between seconds. The date part is cached per day (a batch's rows mostly share it); the
// time of day is plain arithmetic and table look-ups.
let cachedDay = Number.NaN;
let cachedDayText = '';
let cachedMinute = Number.NaN;
let cachedMinuteText = '';

const DAY_MS = 86_400_000;
const TWO_DIGITS = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0'));
const THREE_DIGITS = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));

/** `2026-11-23 10:00:00.123`: DATETIME(3) in UTC, the way the pool (timezone 'Z') reads it back. */
export function sqlDateTime(time: number): string {
  const ms = Math.trunc(time); // as Date does
  const day = Math.floor(ms / DAY_MS);
  if (day !== cachedDay) {
    // Validates like Date would (RangeError beyond ±8.64e15 ms) before the cache is touched.
    const text = `${new Date(day * DAY_MS).toISOString().slice(0, -14)} `;
    cachedDay = day;
    cachedDayText = text;
  }
  const inDay = ms - day * DAY_MS;
  const second = Math.floor(inDay / 1000);
  return (
    cachedDayText +
    TWO_DIGITS[Math.floor(second / 3600)]! +
    ':' +
    TWO_DIGITS[Math.floor(second / 60) % 60]! +
    ':' +
    TWO_DIGITS[second % 60]! +
    '.' +
    THREE_DIGITS[inDay - second * 1000]!
  );
}

/** The UTC minute of a time, as DATETIME: `2026-11-23 10:00:00`. */
export function sqlMinute(time: number): string {
  const minute = Math.floor(Math.trunc(time) / 60_000);
  if (minute !== cachedMinute) {
    cachedMinute = minute;
    cachedMinuteText = new Date(minute * 60_000).toISOString().slice(0, 19).replace('T', ' ');
  }
  return cachedMinuteText;
}
