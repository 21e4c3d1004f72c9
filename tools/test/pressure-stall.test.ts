import { describe, expect, it } from 'vitest';
import { parseSomeTotal, pressurePercent, readPressureTotals } from '../src/bench/pressure-stall.js';

describe('pressure stall figures', () => {
  it('reads the "some" total of a /proc/pressure file', () => {
    const text =
      'some avg10=74.53 avg60=49.10 avg300=38.46 total=752007556\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=17\n';
    expect(parseSomeTotal(text)).toBe(752007556);
    expect(parseSomeTotal('full avg10=0.00 total=5\n')).toBeUndefined();
  });

  it('turns two readings into the share of the wall time with a task waiting', () => {
    // 750 ms of CPU stall and 20 ms of I/O stall in 1 s; memory missing from one reading is left out.
    expect(
      pressurePercent({ cpu: 1_000_000, io: 50, memory: 0 }, { cpu: 1_750_000, io: 20_050 }, 1000),
    ).toEqual({
      cpu: 75,
      io: 2,
    });
    expect(pressurePercent({ cpu: 1 }, { cpu: 2 }, 0)).toEqual({});
  });

  it('reads this machine (empty where the kernel has no PSI)', () => {
    const totals = readPressureTotals();
    for (const v of Object.values(totals)) expect(Number.isInteger(v) && v >= 0).toBe(true);
  });
});
