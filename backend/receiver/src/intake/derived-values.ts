/*
 * Derived values the backend computes from a reading's temperature (°C) and relative humidity (%RH) and
 * stores as the sensors `heat_index` (°C) and `dew_point` (°C) under the same device and seq.
 *
 * Heat index: the US National Weather Service algorithm
 * (https://www.wpc.ncep.noaa.gov/html/heatindex_equation.shtml). It works in °F:
 *   1. Simple formula (Steadman): HI = 0.5 · (T + 61 + (T − 68) · 1.2 + RH · 0.094), averaged with T.
 *      If that average is below 80 °F it is the result (the regression is not meant for mild conditions).
 *   2. Otherwise the Rothfusz regression (a fit to Steadman's tables):
 *      HI = −42.379 + 2.04901523·T + 10.14333127·RH − 0.22475541·T·RH − 0.00683783·T² − 0.05481717·RH²
 *           + 0.00122874·T²·RH + 0.00085282·T·RH² − 0.00000199·T²·RH²
 *   3. Adjustments of the regression:
 *      RH < 13 % and 80 ≤ T ≤ 112 °F: subtract ((13 − RH) / 4) · sqrt((17 − |T − 95|) / 17)
 *      RH > 85 % and 80 ≤ T ≤ 87 °F:  add      ((RH − 85) / 10) · ((87 − T) / 5)
 * The input is converted from °C and the result back to °C.
 *
 * Dew point: Magnus formula over water with the constants a = 17.62, b = 243.12 °C (WMO guide;
 * accurate to about ±0.1 °C from −45 °C to 60 °C):
 *   γ = ln(RH / 100) + a·t / (b + t),  Td = b·γ / (a − γ)
 */

const MAGNUS_A = 17.62;
const MAGNUS_B_C = 243.12;

const cToF = (c: number): number => (c * 9) / 5 + 32;
const fToC = (f: number): number => ((f - 32) * 5) / 9;

const isPercent = (rh: number): boolean => Number.isFinite(rh) && rh >= 0 && rh <= 100;

/** The Rothfusz regression alone (°F in, °F out), without the NWS's simple-formula gate or adjustments. */
export function rothfuszRegressionF(tF: number, rh: number): number {
  return (
    -42.379 +
    2.04901523 * tF +
    10.14333127 * rh -
    0.22475541 * tF * rh -
    0.00683783 * tF * tF -
    0.05481717 * rh * rh +
    0.00122874 * tF * tF * rh +
    0.00085282 * tF * rh * rh -
    0.00000199 * tF * tF * rh * rh
  );
}

/**
 * NWS heat index in °F for a temperature in °F and relative humidity in %.
 * NaN when an input is not finite or the humidity is outside 0..100.
 */
export function heatIndexF(tF: number, rh: number): number {
  if (!Number.isFinite(tF) || !isPercent(rh)) return NaN;
  const simple = 0.5 * (tF + 61 + (tF - 68) * 1.2 + rh * 0.094);
  const average = (simple + tF) / 2;
  if (average < 80) return average;
  let hi = rothfuszRegressionF(tF, rh);
  if (rh < 13 && tF >= 80 && tF <= 112) {
    hi -= ((13 - rh) / 4) * Math.sqrt((17 - Math.abs(tF - 95)) / 17);
  } else if (rh > 85 && tF >= 80 && tF <= 87) {
    hi += ((rh - 85) / 10) * ((87 - tF) / 5);
  }
  return hi;
}

/**
 * NWS heat index ("feels like" temperature) in °C for a temperature in °C and relative humidity in %.
 * NaN when an input is not finite or the humidity is outside 0..100.
 */
export function heatIndexC(tempC: number, rhPercent: number): number {
  return fToC(heatIndexF(cToF(tempC), rhPercent));
}

/**
 * Dew point in °C (Magnus, a = 17.62, b = 243.12 °C). `undefined` when there is no dew point to give:
 * humidity ≤ 0 % (ln 0) or above 100 %, or an input that is not a finite number.
 */
export function dewPointC(tempC: number, rhPercent: number): number | undefined {
  if (!Number.isFinite(tempC) || !Number.isFinite(rhPercent) || rhPercent <= 0 || rhPercent > 100) {
    return undefined;
  }
  const gamma = Math.log(rhPercent / 100) + (MAGNUS_A * tempC) / (MAGNUS_B_C + tempC);
  const td = (MAGNUS_B_C * gamma) / (MAGNUS_A - gamma);
  return Number.isFinite(td) ? td : undefined;
}

const round2 = (x: number): number => Math.round(x * 100) / 100 + 0; // `+ 0` turns -0 into 0

/**
 * `{ heat_index, dew_point }` in °C, rounded to 2 decimals, when `values` has a finite `temperature` (°C)
 * and a finite `humidity` in 0..100 %RH; `{}` otherwise. At exactly 0 %RH only `heat_index` is returned
 * (a dew point does not exist there).
 */
export function deriveValues(values: Record<string, number>): Record<string, number> {
  const t = values['temperature'];
  const rh = values['humidity'];
  if (typeof t !== 'number' || typeof rh !== 'number' || !Number.isFinite(t) || !isPercent(rh)) return {};
  const derived: Record<string, number> = {};
  const hi = heatIndexC(t, rh);
  if (Number.isFinite(hi)) derived['heat_index'] = round2(hi);
  const dp = dewPointC(t, rh);
  if (dp !== undefined) derived['dew_point'] = round2(dp);
  return derived;
}
