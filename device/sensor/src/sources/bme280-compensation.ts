/**
 * Bosch's floating-point compensation formulas (BME280 datasheet section 4.2.3 / 8.1, BMP280 datasheet
 * section 3.11.3 and 8.1 "double precision"), turning raw ADC counts into physical values.
 *
 * One deliberate difference from the C reference code: there, `t_fine` is stored in a 32-bit integer
 * shared with the integer formulas, which truncates it. The datasheet's worked example (t_fine 128422.2870,
 * p = 100653.27 Pa) keeps the fraction, and so do we: pressure and humidity use the exact double value.
 */
import type {
  HumidityCalibration,
  PressureCalibration,
  TemperatureCalibration,
} from './bme280-calibration.js';

export interface TemperatureResult {
  /** °C */
  temperature: number;
  /** "Fine temperature", the input of the pressure and humidity formulas. */
  tFine: number;
}

/** Temperature from the 20-bit adc_T. */
export function compensateTemperature(adcT: number, cal: TemperatureCalibration): TemperatureResult {
  const var1 = (adcT / 16384.0 - cal.digT1 / 1024.0) * cal.digT2;
  const d = adcT / 131072.0 - cal.digT1 / 8192.0;
  const var2 = d * d * cal.digT3;
  const tFine = var1 + var2;
  return { temperature: tFine / 5120.0, tFine };
}

/**
 * Pressure in Pa from the 20-bit adc_P and t_fine. Returns undefined when the calibration makes the formula
 * divide by zero (the C code returns 0 there; we do not invent a value).
 */
export function compensatePressure(
  adcP: number,
  tFine: number,
  cal: PressureCalibration,
): number | undefined {
  let var1 = tFine / 2.0 - 64000.0;
  let var2 = (var1 * var1 * cal.digP6) / 32768.0;
  var2 = var2 + var1 * cal.digP5 * 2.0;
  var2 = var2 / 4.0 + cal.digP4 * 65536.0;
  var1 = ((cal.digP3 * var1 * var1) / 524288.0 + cal.digP2 * var1) / 524288.0;
  var1 = (1.0 + var1 / 32768.0) * cal.digP1;
  if (var1 === 0) return undefined;
  let p = 1048576.0 - adcP;
  p = ((p - var2 / 4096.0) * 6250.0) / var1;
  var1 = (cal.digP9 * p * p) / 2147483648.0;
  var2 = (p * cal.digP8) / 32768.0;
  return p + (var1 + var2 + cal.digP7) / 16.0;
}

/** Relative humidity in %RH from the 16-bit adc_H and t_fine, clamped to 0 … 100 as the datasheet does. */
export function compensateHumidity(adcH: number, tFine: number, cal: HumidityCalibration): number {
  let h = tFine - 76800.0;
  h =
    (adcH - (cal.digH4 * 64.0 + (cal.digH5 / 16384.0) * h)) *
    ((cal.digH2 / 65536.0) * (1.0 + (cal.digH6 / 67108864.0) * h * (1.0 + (cal.digH3 / 67108864.0) * h)));
  h = h * (1.0 - (cal.digH1 * h) / 524288.0);
  if (h > 100.0) return 100.0;
  if (h < 0.0) return 0.0;
  return h;
}

/** 20-bit value from msb, lsb, xlsb[7:4] (pressure and temperature data registers). */
export function raw20(msb: number, lsb: number, xlsb: number): number {
  return ((msb & 0xff) << 12) | ((lsb & 0xff) << 4) | ((xlsb & 0xff) >> 4);
}

/** 16-bit value from msb, lsb (humidity data registers). */
export function raw16(msb: number, lsb: number): number {
  return ((msb & 0xff) << 8) | (lsb & 0xff);
}
