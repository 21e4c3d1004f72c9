import { describe, expect, it } from 'vitest';
import {
  CalibrationError,
  parseBme280Calibration,
  parseHumidityCalibration,
  parseTemperaturePressureCalibration,
  signed12,
} from '../src/sources/bme280-calibration.js';
import {
  compensateHumidity,
  compensatePressure,
  compensateTemperature,
  raw16,
  raw20,
} from '../src/sources/bme280-compensation.js';
import { DATASHEET_P, DATASHEET_T } from './support/datasheet-example.js';

const T = DATASHEET_T;
const P = DATASHEET_P;
// Humidity parameters chosen for the test (typical magnitudes of real chips; H3 ≠ 0 to exercise every term).
const H = { digH1: 75, digH2: 362, digH3: 12, digH4: 313, digH5: 50, digH6: 30 };

describe('BME280 compensation (datasheet double-precision formulas)', () => {
  it('reproduces the datasheet temperature example', () => {
    const { temperature, tFine } = compensateTemperature(519888, T);
    expect(temperature).toBeCloseTo(25.0825, 4);
    expect(Math.round(temperature * 100) / 100).toBe(25.08);
    expect(tFine).toBeCloseTo(128422.287, 2); // datasheet: t_fine = 128422.2870
  });

  it('reproduces the datasheet pressure example', () => {
    const { tFine } = compensateTemperature(519888, T);
    const pa = compensatePressure(415148, tFine, P);
    expect(pa).toBeDefined();
    expect(Math.abs((pa ?? 0) - 100653.27)).toBeLessThanOrEqual(0.01);
  });

  it('returns undefined instead of a made-up pressure when dig_P1 is 0', () => {
    expect(compensatePressure(415148, 128422, { ...P, digP1: 0 })).toBeUndefined();
  });

  it('computes humidity as the datasheet formula does, worked out by hand', () => {
    // BME280 datasheet 4.2.3 (double):
    //   var_H = t_fine − 76800
    //   var_H = (adc_H − (H4·64 + H5/16384·var_H)) · (H2/65536 · (1 + H6/67108864·var_H·(1 + H3/67108864·var_H)))
    //   var_H = var_H · (1 − H1·var_H/524288)
    // with t_fine = 128422.28700578213 (datasheet example), adc_H = 30000, H1..H6 = 75, 362, 12, 313, 50, 30:
    //   var_H                       = 51622.28700578213
    //   H4·64                       = 20032
    //   H5/16384·var_H              = 157.53871766901284
    //   offset a                    = 20189.538717669013
    //   1 + H3/67108864·var_H       = 1.0092307842384187
    //   1 + H6/67108864·var_H·(…)   = 1.0232899790401875
    //   H2/65536                    = 0.005523681640625
    //   gain b                      = 0.005652328070259824
    //   (adc_H − a)                 = 9810.461282330987
    //   h = (adc_H − a)·b           = 55.45194568831663
    //   1 − H1·h/524288             = 0.9920675355403448
    //   → 55.012075099925326 %RH
    const varH = 128422.28700578213 - 76800;
    const a = 313 * 64 + (50 / 16384) * varH;
    const b = (362 / 65536) * (1 + (30 / 67108864) * varH * (1 + (12 / 67108864) * varH));
    const h = (30000 - a) * b;
    const expected = h * (1 - (75 * h) / 524288);
    expect(expected).toBeCloseTo(55.012075099925326, 9);

    const { tFine } = compensateTemperature(519888, T);
    expect(compensateHumidity(30000, tFine, H)).toBeCloseTo(expected, 6);
  });

  it('clamps humidity to 0 … 100 %RH', () => {
    const { tFine } = compensateTemperature(519888, T);
    // Unclamped these are −1.0715 and 110.18 (same hand computation as above with adc_H 20000 / 40000).
    expect(compensateHumidity(20000, tFine, H)).toBe(0);
    expect(compensateHumidity(40000, tFine, H)).toBe(100);
    expect(compensateHumidity(65535, tFine, H)).toBe(100);
  });

  it('decodes 20-bit and 16-bit raw values from the data registers', () => {
    // 519888 = 0x7EED0 → msb 0x7E, lsb 0xED, xlsb 0x00 (low nibble of the 20 bits goes to xlsb[7:4])
    expect(raw20(0x7e, 0xed, 0x00)).toBe(519888);
    // 415148 = 0x655AC → msb 0x65, lsb 0x5A, xlsb 0xC0; xlsb[3:0] is ignored
    expect(raw20(0x65, 0x5a, 0xc0)).toBe(415148);
    expect(raw20(0x65, 0x5a, 0xcf)).toBe(415148);
    expect(raw20(0x80, 0x00, 0x00)).toBe(0x80000);
    expect(raw16(0x75, 0x30)).toBe(30000);
  });
});

describe('BME280 calibration parsing', () => {
  // The datasheet example's parameters as the chip stores them: little-endian words from 0x88.
  // prettier-ignore
  const block1 = Uint8Array.from([
    0x70, 0x6b, // dig_T1 = 0x6B70 = 27504 (unsigned)
    0x43, 0x67, // dig_T2 = 0x6743 = 26435
    0x18, 0xfc, // dig_T3 = 0xFC18 = 64536 − 65536 = −1000
    0x7d, 0x8e, // dig_P1 = 0x8E7D = 36477 (unsigned, > 32767)
    0x43, 0xd6, // dig_P2 = 0xD643 = 54851 − 65536 = −10685
    0xd0, 0x0b, // dig_P3 = 0x0BD0 = 3024
    0x27, 0x0b, // dig_P4 = 0x0B27 = 2855
    0x8c, 0x00, // dig_P5 = 0x008C = 140
    0xf9, 0xff, // dig_P6 = 0xFFF9 = −7
    0x8c, 0x3c, // dig_P7 = 0x3C8C = 15500
    0xf8, 0xc6, // dig_P8 = 0xC6F8 = 50936 − 65536 = −14600
    0x70, 0x17, // dig_P9 = 0x1770 = 6000
    0x00, //       0xA0 unused
    0xff, //       dig_H1 = 255 (unsigned byte)
  ]);

  it('parses T and P words with the right signedness', () => {
    expect(parseTemperaturePressureCalibration(block1)).toEqual({ ...T, ...P });
  });

  it('splits H4/H5 across the nibbles of 0xE5 (positive values)', () => {
    // prettier-ignore
    const block2 = Uint8Array.from([
      0x6a, 0x01, // dig_H2 = 0x016A = 362
      0x00, //       dig_H3 = 0
      0x13, //       0xE4: H4[11:4]
      0x29, //       0xE5: H5[3:0] = 0x2 in the high nibble, H4[3:0] = 0x9 in the low nibble
      0x03, //       0xE6: H5[11:4]
      0x1e, //       dig_H6 = 30
    ]);
    // H4 = 0x13 << 4 | 0x9 = 0x139 = 313; H5 = 0x03 << 4 | 0x2 = 0x032 = 50
    expect(parseHumidityCalibration(75, block2)).toEqual({
      digH1: 75,
      digH2: 362,
      digH3: 0,
      digH4: 313,
      digH5: 50,
      digH6: 30,
    });
  });

  it('sign-extends H4/H5 from 12 bits and reads H2 as s16, H6 as s8, H3 as u8', () => {
    // prettier-ignore
    const block2 = Uint8Array.from([
      0x9c, 0xff, // dig_H2 = 0xFF9C = −100
      0xc8, //       dig_H3 = 200 (unsigned)
      0xf8, //       0xE4
      0xc7, //       0xE5: high nibble 0xC → H5, low nibble 0x7 → H4
      0xfc, //       0xE6
      0xe2, //       dig_H6 = 0xE2 = 226 − 256 = −30
    ]);
    // H4 = 0xF8 << 4 | 0x7 = 0xF87 = 3975 → 3975 − 4096 = −121
    // H5 = 0xFC << 4 | 0xC = 0xFCC = 4044 → 4044 − 4096 = −52
    expect(parseHumidityCalibration(0xff, block2)).toEqual({
      digH1: 255,
      digH2: -100,
      digH3: 200,
      digH4: -121,
      digH5: -52,
      digH6: -30,
    });
  });

  it('does not let the nibble that belongs to the other value flip the sign', () => {
    // 0xE4 = 0x12, 0xE5 = 0x8F, 0xE6 = 0x7F: H4 = 0x12F = 303, H5 = 0x7F8 = 2040 (both positive)
    const block2 = Uint8Array.from([0x00, 0x01, 0x00, 0x12, 0x8f, 0x7f, 0x00]);
    const cal = parseHumidityCalibration(0, block2);
    expect(cal.digH4).toBe(303);
    expect(cal.digH5).toBe(2040);
  });

  it('parses both blocks together, taking H1 from 0xA1', () => {
    const block2 = Uint8Array.from([0x6a, 0x01, 0x00, 0x13, 0x29, 0x03, 0x1e]);
    const cal = parseBme280Calibration(block1, block2);
    expect(cal.digT3).toBe(-1000);
    expect(cal.digH1).toBe(255);
    expect(cal.digH4).toBe(313);
  });

  it('rejects short or blank blocks', () => {
    expect(() => parseTemperaturePressureCalibration(block1.subarray(0, 20))).toThrow(CalibrationError);
    expect(() => parseTemperaturePressureCalibration(new Uint8Array(26))).toThrow(/all bytes read as 0x00/);
    expect(() => parseTemperaturePressureCalibration(new Uint8Array(26).fill(0xff))).toThrow(/0xff/);
    expect(() => parseBme280Calibration(block1.subarray(0, 24), new Uint8Array(7).fill(1))).toThrow(
      CalibrationError,
    );
    expect(() => parseHumidityCalibration(0, new Uint8Array(6).fill(1))).toThrow(CalibrationError);
  });

  it('signed12 wraps at 0x800', () => {
    expect(signed12(0x7ff)).toBe(2047);
    expect(signed12(0x800)).toBe(-2048);
    expect(signed12(0xfff)).toBe(-1);
  });
});
