import { describe, expect, it } from 'vitest';
import { sqlDateTime, sqlMinute } from '../../src/db/sql-time.js';

// The formatters cache the last day/minute: compare them with plain Date formatting over times that
// hit and miss the cache, across day, year and epoch boundaries and with fractional milliseconds.
const viaDate = (ms: number) => new Date(ms).toISOString().slice(0, 23).replace('T', ' ');
const minuteViaDate = (ms: number) => {
  const d = new Date(ms);
  d.setUTCSeconds(0, 0);
  return d.toISOString().slice(0, 19).replace('T', ' ');
};

describe('sqlDateTime / sqlMinute', () => {
  const times = [
    0,
    1,
    999,
    1000,
    -1,
    -1.5,
    -999,
    -1000,
    -60_001,
    Date.UTC(2026, 10, 23, 10, 0, 0, 5),
    Date.UTC(2026, 10, 23, 10, 0, 0, 50),
    Date.UTC(2026, 10, 23, 10, 0, 0, 500),
    Date.UTC(2026, 10, 23, 10, 0, 0, 500) + 0.9,
    Date.UTC(2026, 11, 31, 23, 59, 59, 999),
    Date.UTC(2027, 0, 1, 0, 0, 0, 0),
    Date.UTC(2024, 1, 29, 12, 34, 56, 7),
    Date.UTC(1899, 11, 31, 23, 59, 59, 999),
    Date.UTC(9999, 11, 31, 23, 59, 59, 999),
  ];
  let seed = 42;
  const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  for (let i = 0; i < 2000; i++) {
    const base = Date.UTC(2000, 0, 1) + Math.floor(random() * 40 * 365 * 86_400_000);
    times.push(base, base + Math.floor(random() * 3000), base + random() * 120_000);
  }

  it('formats every time exactly as Date does', () => {
    for (const t of times) {
      expect(sqlDateTime(t), String(t)).toBe(viaDate(t));
      expect(sqlMinute(t), String(t)).toBe(minuteViaDate(t));
    }
  });
});
