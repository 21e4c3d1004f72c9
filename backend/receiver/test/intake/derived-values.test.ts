import { describe, expect, it } from 'vitest';
import {
  deriveValues,
  dewPointC,
  heatIndexC,
  heatIndexF,
  rothfuszRegressionF,
} from '../../src/intake/derived-values.js';

// Every expected number below comes from an independent source, never from the formulas under test:
// - docs/reference.md (30 °C / 70 %: heat index ≈ 95.1 °F = 35.0 °C, dew point ≈ 23.9 °C);
// - the NWS heat index chart (°F, rounded to whole degrees, hence ±1 °F);
// - psychrometric tables of the dew point over water (±0.2 °C).

const fToC = (f: number): number => ((f - 32) * 5) / 9;

describe('heatIndexC', () => {
  it('matches the reference value 30 °C / 70 % → 95.1 °F = 35.0 °C', () => {
    expect(heatIndexC(30, 70)).toBeCloseTo(35.0, 1);
    expect(heatIndexF(86, 70)).toBeCloseTo(95.1, 1);
  });

  // [°F, %RH, NWS chart °F]
  const chart: Array<[number, number, number]> = [
    [90, 50, 95],
    [100, 40, 109],
    [86, 90, 105],
    [80, 40, 80],
    [96, 65, 121],
    [88, 70, 100],
    [94, 40, 97],
    [104, 50, 131],
    [90, 90, 122],
  ];
  it.each(chart)('%d °F at %d %% is %d °F on the NWS chart (±1 °F)', (tF, rh, expectedF) => {
    expect(Math.abs(heatIndexF(tF, rh) - expectedF)).toBeLessThanOrEqual(1);
    expect(Math.abs(heatIndexC(fToC(tF), rh) - fToC(expectedF))).toBeLessThanOrEqual(5 / 9);
  });

  it('uses the simple formula in mild conditions, where the heat index stays close to the air temperature', () => {
    // Steadman's apparent temperature is within a degree or two of the air temperature in mild, moderately
    // humid air; the bare regression is far off there (≈ 99 °F at 50 °F / 50 %, ≈ 77 °F at 70 °F / 50 %).
    expect(Math.abs(heatIndexF(50, 50) - 50)).toBeLessThanOrEqual(2);
    expect(Math.abs(heatIndexF(70, 50) - 70)).toBeLessThanOrEqual(2);
    expect(heatIndexF(70, 50)).toBeLessThan(rothfuszRegressionF(70, 50) - 5);
    expect(Math.abs(heatIndexC(10, 50) - 10)).toBeLessThanOrEqual(1);
    expect(Math.abs(heatIndexC(20, 60) - 20)).toBeLessThanOrEqual(1);
  });

  it('the bare regression reproduces the chart too (so the adjustment tests below compare against it)', () => {
    expect(Math.abs(rothfuszRegressionF(90, 50) - 95)).toBeLessThanOrEqual(1);
    expect(Math.abs(rothfuszRegressionF(100, 40) - 109)).toBeLessThanOrEqual(1);
    expect(Math.abs(rothfuszRegressionF(96, 65) - 121)).toBeLessThanOrEqual(1);
  });

  it('lowers the regression when RH < 13 % and 80 ≤ T ≤ 112 °F', () => {
    const adjusted = heatIndexF(100, 10);
    const bare = rothfuszRegressionF(100, 10);
    expect(adjusted).toBeLessThan(bare - 0.3);
    expect(adjusted).toBeGreaterThan(bare - 3.25); // the adjustment never exceeds 13/4 °F
    // no adjustment at 13 % or above 112 °F
    expect(heatIndexF(100, 13)).toBeCloseTo(rothfuszRegressionF(100, 13), 10);
    expect(heatIndexF(113, 10)).toBeCloseTo(rothfuszRegressionF(113, 10), 10);
  });

  it('raises the regression when RH > 85 % and 80 ≤ T ≤ 87 °F', () => {
    const adjusted = heatIndexF(85, 90);
    expect(adjusted).toBeGreaterThan(rothfuszRegressionF(85, 90));
    // between the chart's neighbours 84 °F → 98 °F and 86 °F → 105 °F
    expect(adjusted).toBeGreaterThan(98);
    expect(adjusted).toBeLessThan(105);
    // no adjustment above 87 °F or at 85 %
    expect(heatIndexF(88, 90)).toBeCloseTo(rothfuszRegressionF(88, 90), 10);
    expect(heatIndexF(85, 85)).toBeCloseTo(rothfuszRegressionF(85, 85), 10);
  });

  it('is NaN for non-finite input or humidity outside 0..100', () => {
    expect(heatIndexC(NaN, 50)).toBeNaN();
    expect(heatIndexC(30, Infinity)).toBeNaN();
    expect(heatIndexC(30, -1)).toBeNaN();
    expect(heatIndexC(30, 100.5)).toBeNaN();
  });
});

describe('dewPointC', () => {
  it('matches the reference value 30 °C / 70 % → 23.9 °C', () => {
    expect(dewPointC(30, 70)).toBeCloseTo(23.9, 1);
  });

  // [°C, %RH, dew point °C from a psychrometric table]
  const table: Array<[number, number, number]> = [
    [20, 50, 9.3],
    [25, 80, 21.3],
    [0, 100, 0],
    [-10, 80, -12.8],
    [10, 90, 8.4],
    [35, 20, 8.7],
  ];
  it.each(table)('%d °C at %d %% → %d °C (±0.2)', (t, rh, expected) => {
    const dp = dewPointC(t, rh);
    expect(dp).toBeDefined();
    expect(Math.abs((dp ?? NaN) - expected)).toBeLessThanOrEqual(0.2);
  });

  it('equals the air temperature at 100 % and is below it otherwise', () => {
    expect(dewPointC(21.5, 100)).toBeCloseTo(21.5, 10);
    expect(dewPointC(21.5, 99)).toBeLessThan(21.5);
  });

  it('is undefined where no dew point exists or the input is not a number', () => {
    expect(dewPointC(20, 0)).toBeUndefined();
    expect(dewPointC(20, -5)).toBeUndefined();
    expect(dewPointC(20, 101)).toBeUndefined();
    expect(dewPointC(NaN, 50)).toBeUndefined();
    expect(dewPointC(20, Infinity)).toBeUndefined();
  });
});

describe('deriveValues', () => {
  it('returns heat_index and dew_point in °C rounded to 2 decimals', () => {
    const d = deriveValues({ temperature: 30, humidity: 70, pressure: 1013.25 });
    expect(Object.keys(d).sort()).toEqual(['dew_point', 'heat_index']);
    expect(d['heat_index']).toBeCloseTo(35.0, 1);
    expect(d['dew_point']).toBeCloseTo(23.9, 1);
    for (const v of Object.values(d)) expect(Math.round(v * 100) / 100).toBe(v);
  });

  it('returns 0, not -0, for a dew point of zero', () => {
    expect(Object.is(deriveValues({ temperature: 0, humidity: 100 })['dew_point'], 0)).toBe(true);
  });

  it.each([
    ['no humidity', { temperature: 30 }],
    ['no temperature', { humidity: 70 }],
    ['neither', { pressure: 1013 }],
    ['NaN temperature', { temperature: NaN, humidity: 70 }],
    ['infinite humidity', { temperature: 30, humidity: Infinity }],
    ['humidity above 100', { temperature: 30, humidity: 100.01 }],
    ['negative humidity', { temperature: 30, humidity: -1 }],
  ])('returns {} with %s', (_label, values) => {
    expect(deriveValues(values)).toEqual({});
  });

  it('accepts the bounds 0 and 100 %RH (no dew point at 0 %)', () => {
    expect(Object.keys(deriveValues({ temperature: 25, humidity: 100 })).sort()).toEqual([
      'dew_point',
      'heat_index',
    ]);
    expect(Object.keys(deriveValues({ temperature: 25, humidity: 0 }))).toEqual(['heat_index']);
  });
});
