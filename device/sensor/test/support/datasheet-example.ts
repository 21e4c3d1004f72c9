/**
 * Bosch BMP280 datasheet worked example (docs/reference.md; the BME280 uses the same T and P
 * formulas) plus humidity parameters chosen for the tests (typical magnitudes of real chips, H3 ≠ 0 so every
 * term of the humidity formula is exercised). One copy for every test that drives the real driver.
 */
export const DATASHEET_T = { digT1: 27504, digT2: 26435, digT3: -1000 };
export const DATASHEET_P = {
  digP1: 36477,
  digP2: -10685,
  digP3: 3024,
  digP4: 2855,
  digP5: 140,
  digP6: -7,
  digP7: 15500,
  digP8: -14600,
  digP9: 6000,
};
export const TEST_H = { digH1: 75, digH2: 362, digH3: 12, digH4: 313, digH5: 50, digH6: 30 };
export const DATASHEET_CALIBRATION = { ...DATASHEET_T, ...DATASHEET_P, ...TEST_H };
/** adc_T and adc_P of the datasheet example; adc_H chosen for the humidity test. */
export const DATASHEET_RAW = { adcT: 519888, adcP: 415148, adcH: 30000 };
