/**
 * Parsing of the factory calibration ("trimming") parameters stored in the chip's NVM.
 *
 * Block 1, 0x88..0xA1 (26 bytes): little-endian 16-bit words dig_T1 (u16), dig_T2, dig_T3 (s16),
 * dig_P1 (u16), dig_P2 … dig_P9 (s16); 0xA0 unused; dig_H1 (u8) at 0xA1.
 * Block 2, 0xE1..0xE7 (7 bytes, BME280 only): dig_H2 (s16, LE) at 0xE1, dig_H3 (u8) at 0xE3,
 * dig_H4 = 0xE4[7:0] << 4 | 0xE5[3:0] and dig_H5 = 0xE6[7:0] << 4 | 0xE5[7:4] (both signed 12-bit),
 * dig_H6 (s8) at 0xE7.
 */
import { CALIB_H_LENGTH, CALIB_TP_LENGTH } from './bme280-registers.js';

export interface TemperatureCalibration {
  digT1: number;
  digT2: number;
  digT3: number;
}

export interface PressureCalibration {
  digP1: number;
  digP2: number;
  digP3: number;
  digP4: number;
  digP5: number;
  digP6: number;
  digP7: number;
  digP8: number;
  digP9: number;
}

export interface HumidityCalibration {
  digH1: number;
  digH2: number;
  digH3: number;
  digH4: number;
  digH5: number;
  digH6: number;
}

export type Bmp280Calibration = TemperatureCalibration & PressureCalibration;
export type Bme280Calibration = Bmp280Calibration & HumidityCalibration;

/** Thrown when a calibration block has the wrong length or cannot be real (all 0x00 or all 0xFF). */
export class CalibrationError extends Error {
  override readonly name = 'CalibrationError';
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Interprets the low 12 bits of `value` as a two's-complement number. */
export function signed12(value: number): number {
  const v = value & 0xfff;
  return v & 0x800 ? v - 0x1000 : v;
}

function checkBlock(bytes: Uint8Array, expected: number, what: string): void {
  if (bytes.length < expected) {
    throw new CalibrationError(`${what}: expected ${expected} bytes, got ${bytes.length}`);
  }
  // A chip whose NVM could not be read (or a bus returning garbage) shows a block of one repeated byte.
  const first = bytes[0];
  if ((first === 0x00 || first === 0xff) && bytes.subarray(0, expected).every((b) => b === first)) {
    throw new CalibrationError(`${what}: all bytes read as 0x${first.toString(16).padStart(2, '0')}`);
  }
}

/** Parses block 1 (0x88.., at least the 24 bytes up to 0x9F) into the temperature and pressure parameters. */
export function parseTemperaturePressureCalibration(block: Uint8Array): Bmp280Calibration {
  checkBlock(block, 24, 'calibration block 0x88..0x9F');
  const b = asBuffer(block);
  return {
    digT1: b.readUInt16LE(0),
    digT2: b.readInt16LE(2),
    digT3: b.readInt16LE(4),
    digP1: b.readUInt16LE(6),
    digP2: b.readInt16LE(8),
    digP3: b.readInt16LE(10),
    digP4: b.readInt16LE(12),
    digP5: b.readInt16LE(14),
    digP6: b.readInt16LE(16),
    digP7: b.readInt16LE(18),
    digP8: b.readInt16LE(20),
    digP9: b.readInt16LE(22),
  };
}

/** Parses the humidity parameters from dig_H1 (the byte at 0xA1) and block 2 (0xE1..0xE7). */
export function parseHumidityCalibration(h1: number, block: Uint8Array): HumidityCalibration {
  checkBlock(block, CALIB_H_LENGTH, 'calibration block 0xE1..0xE7');
  const b = asBuffer(block);
  const e4 = b.readUInt8(3);
  const e5 = b.readUInt8(4);
  const e6 = b.readUInt8(5);
  return {
    digH1: h1 & 0xff,
    digH2: b.readInt16LE(0),
    digH3: b.readUInt8(2),
    digH4: signed12((e4 << 4) | (e5 & 0x0f)),
    digH5: signed12((e6 << 4) | (e5 >> 4)),
    digH6: b.readInt8(6),
  };
}

/** Parses both blocks of a BME280: `block1` = 26 bytes from 0x88, `block2` = 7 bytes from 0xE1. */
export function parseBme280Calibration(block1: Uint8Array, block2: Uint8Array): Bme280Calibration {
  if (block1.length < CALIB_TP_LENGTH) {
    throw new CalibrationError(
      `calibration block 0x88..0xA1: expected ${CALIB_TP_LENGTH} bytes, got ${block1.length}`,
    );
  }
  const h1 = asBuffer(block1).readUInt8(CALIB_TP_LENGTH - 1);
  return { ...parseTemperaturePressureCalibration(block1), ...parseHumidityCalibration(h1, block2) };
}
