import { describe, expect, it } from 'vitest';
import { gaussian, mulberry32 } from '../src/sources/prng.js';
import { SENSOR_NAME_PATTERN, type SensorValues } from '../src/sources/sensor-source.js';
import { SimulatedSource, dailyCycle } from '../src/sources/simulated-source.js';

const DAY = Date.UTC(2026, 10, 23); // midnight UTC
const HOUR = 3_600_000;

/** Reads a source once per `stepMs` over `spanMs` starting at `start`. */
async function sample(seed: number, start: number, spanMs: number, stepMs: number, noise = true) {
  let t = start;
  const source = new SimulatedSource({ seed, now: () => t, noise });
  await source.open();
  const out: Array<{ t: number; values: SensorValues }> = [];
  for (; t < start + spanMs; t += stepMs) out.push({ t, values: await source.read() });
  return out;
}

describe('SimulatedSource', () => {
  it('describes its channels', async () => {
    const source = new SimulatedSource({ seed: 1, now: () => DAY });
    const info = await source.open();
    expect(source.kind).toBe('simulated');
    expect(info.model).toBe('simulated');
    expect(info.channels).toEqual(['temperature', 'humidity', 'pressure', 'sine']);
    for (const name of info.channels) expect(name).toMatch(SENSOR_NAME_PATTERN);
    const values = await source.read();
    expect(Object.keys(values)).toEqual(info.channels);
    await source.close();
  });

  it('stays within plausible ranges over a simulated day (and a week of pressure drift)', async () => {
    for (const seed of [1, 42, 2026]) {
      const readings = await sample(seed, DAY, 7 * 24 * HOUR, 5 * 60_000);
      for (const { values } of readings) {
        expect(values.temperature).toBeGreaterThanOrEqual(16);
        expect(values.temperature).toBeLessThanOrEqual(26);
        expect(values.humidity).toBeGreaterThanOrEqual(0);
        expect(values.humidity).toBeLessThanOrEqual(100);
        expect(values.humidity).toBeGreaterThan(35);
        expect(values.humidity).toBeLessThan(75);
        expect(values.pressure).toBeGreaterThan(995);
        expect(values.pressure).toBeLessThan(1031);
        expect(Math.abs(values.sine ?? NaN)).toBeLessThanOrEqual(1);
        for (const v of Object.values(values)) expect(Math.round(v * 100) / 100).toBe(v); // 2 decimals
      }
      const temps = readings.map((r) => r.values.temperature ?? NaN);
      // the cycle actually swings: about 17 … 25 °C
      expect(Math.min(...temps)).toBeLessThan(17.5);
      expect(Math.max(...temps)).toBeGreaterThan(24.5);
    }
  });

  it('is warmer at 15:00 than at 05:00, with humidity the other way round', async () => {
    for (const seed of [3, 4, 5]) {
      const day = await sample(seed, DAY, 24 * HOUR, HOUR);
      const at = (h: number) => day[h]?.values ?? {};
      expect(at(15).temperature).toBeGreaterThan((at(5).temperature ?? NaN) + 6);
      expect(at(15).humidity).toBeLessThan((at(5).humidity ?? NaN) - 20);
      // coldest around 05:00, warmest around 15:00 (the curve is flat there, so noise may shift it by an hour)
      const temps = day.map((r) => r.values.temperature ?? NaN);
      expect(Math.abs(temps.indexOf(Math.min(...temps)) - 5)).toBeLessThanOrEqual(1);
      expect(Math.abs(temps.indexOf(Math.max(...temps)) - 15)).toBeLessThanOrEqual(1);
    }
  });

  it('follows the daily cycle exactly without noise', async () => {
    const day = await sample(9, DAY, 24 * HOUR, HOUR, false);
    const t = (h: number) => day[h]?.values.temperature;
    expect(t(5)).toBe(17); // 21 − 4
    expect(t(15)).toBe(25); // 21 + 4
    expect(t(10)).toBe(21); // half-way up (5 h after the minimum)
    expect(t(22)).toBe(21); // half-way down (7 h after the maximum)
    expect(day[5]?.values.humidity).toBe(70); // 55 + 15
    expect(day[15]?.values.humidity).toBe(40); // 55 − 15
    expect(dailyCycle(DAY + 5 * HOUR)).toBeCloseTo(-1, 12);
    expect(dailyCycle(DAY + 15 * HOUR)).toBeCloseTo(1, 12);
    expect(dailyCycle(DAY - 19 * HOUR)).toBeCloseTo(-1, 12); // 05:00 the day before
  });

  it('produces a pure sine of the configured period', async () => {
    let t = DAY;
    const source = new SimulatedSource({ seed: 1, now: () => t, sinePeriodMs: 40_000 });
    const at = async (ms: number) => {
      t = DAY + ms;
      return (await source.read()).sine;
    };
    expect(await at(0)).toBe(0);
    expect(await at(10_000)).toBe(1);
    expect(await at(20_000)).toBe(0);
    expect(await at(30_000)).toBe(-1);
    expect(await at(5_000)).toBe(0.71);
    expect(await at(40_000)).toBe(0);
    const defaults = new SimulatedSource({ seed: 1, now: () => DAY + 15_000 });
    expect((await defaults.read()).sine).toBe(1); // default period 60 s
    expect(() => new SimulatedSource({ seed: 1, now: () => 0, sinePeriodMs: 0 })).toThrow(RangeError);
  });

  it('is reproducible: same seed and clock → identical readings; other seeds differ', async () => {
    const a = await sample(1234, DAY, 6 * HOUR, 10 * 60_000);
    const b = await sample(1234, DAY, 6 * HOUR, 10 * 60_000);
    const c = await sample(1235, DAY, 6 * HOUR, 10 * 60_000);
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
    const differing = a.filter((r, i) => r.values.temperature !== c[i]?.values.temperature).length;
    expect(differing).toBeGreaterThan(a.length / 2);
  });

  it('mulberry32 is deterministic and roughly uniform; gaussian has mean 0 and σ 1', () => {
    const r1 = mulberry32(7);
    const r2 = mulberry32(7);
    const xs = Array.from({ length: 20_000 }, () => r1());
    expect(Array.from({ length: 20_000 }, () => r2())).toEqual(xs);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(mean).toBeCloseTo(0.5, 1);
    const n = gaussian(mulberry32(11));
    const gs = Array.from({ length: 20_000 }, () => n());
    const gMean = gs.reduce((s, x) => s + x, 0) / gs.length;
    const gVar = gs.reduce((s, x) => s + (x - gMean) ** 2, 0) / gs.length;
    expect(Math.abs(gMean)).toBeLessThan(0.05);
    expect(Math.sqrt(gVar)).toBeGreaterThan(0.95);
    expect(Math.sqrt(gVar)).toBeLessThan(1.05);
  });
});
