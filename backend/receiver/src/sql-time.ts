/** Times as the receiver writes them to DATETIME columns: UTC, the way the pool (timezone 'Z') reads them. */

// Formatting a Date is the costly part (toISOString per row showed up at ~5 % of the receiver's CPU with
// 1-reading messages); rows of one batch mostly share their second and minute, so the last one is kept.
let cachedSecond = Number.NaN;
let cachedSecondText = '';
let cachedMinute = Number.NaN;
let cachedMinuteText = '';

const MS_PAD = ['00', '0', ''];

/** `2026-11-23 10:00:00.123`: DATETIME(3) in UTC, the way the pool (timezone 'Z') reads it back. */
export function sqlDateTime(time: number): string {
  const ms = Math.trunc(time); // as Date does
  const second = Math.floor(ms / 1000);
  if (second !== cachedSecond) {
    cachedSecond = second;
    cachedSecondText = new Date(second * 1000).toISOString().slice(0, 19).replace('T', ' ');
  }
  const frac = ms - second * 1000;
  return `${cachedSecondText}.${MS_PAD[frac < 10 ? 0 : frac < 100 ? 1 : 2]}${frac}`;
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
