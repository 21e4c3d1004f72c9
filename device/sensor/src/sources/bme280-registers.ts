/**
 * Register map and constants of the Bosch BME280 (and the register-compatible BMP280), from the datasheets
 * (BST-BME280-DS002, BST-BMP280-DS001), section "Memory map".
 */

/** I2C address with SDO tied to GND (most breakout boards). */
export const BME280_ADDRESS_PRIMARY = 0x76;
/** I2C address with SDO tied to VDDIO (Adafruit boards default to this one). */
export const BME280_ADDRESS_SECONDARY = 0x77;

/** Calibration block 1: dig_T1 … dig_P9 (24 bytes), one unused byte (0xA0), dig_H1 (0xA1). */
export const REG_CALIB_TP = 0x88;
export const CALIB_TP_LENGTH = 0xa1 - 0x88 + 1; // 26
/** dig_H1, the last byte of calibration block 1. */
export const REG_CALIB_H1 = 0xa1;
/** Calibration block 2 (BME280 only): dig_H2 … dig_H6. */
export const REG_CALIB_H = 0xe1;
export const CALIB_H_LENGTH = 0xe7 - 0xe1 + 1; // 7

export const REG_CHIP_ID = 0xd0;
export const REG_RESET = 0xe0;
/** Written to REG_RESET: complete power-on reset. */
export const RESET_COMMAND = 0xb6;

/** ctrl_hum (BME280 only): osrs_h[2:0]. Takes effect only after the next write of ctrl_meas. */
export const REG_CTRL_HUM = 0xf2;
/** status: measuring[3], im_update[0]. */
export const REG_STATUS = 0xf3;
/** ctrl_meas: osrs_t[7:5], osrs_p[4:2], mode[1:0]. */
export const REG_CTRL_MEAS = 0xf4;
/** config: t_sb[7:5], filter[4:2], spi3w_en[0]. Writes in normal mode may be ignored; write it in sleep. */
export const REG_CONFIG = 0xf5;

/** Burst-read start: press_msb, press_lsb, press_xlsb, temp_msb, temp_lsb, temp_xlsb, hum_msb, hum_lsb. */
export const REG_DATA = 0xf7;
export const DATA_LENGTH_BME280 = 8;
export const DATA_LENGTH_BMP280 = 6;

/** status bit: a conversion is running (set in forced mode until the results are in the data registers). */
export const STATUS_MEASURING = 0x08;
/** status bit: NVM calibration data are being copied to the image registers (after reset / power on). */
export const STATUS_IM_UPDATE = 0x01;

export const CHIP_ID_BME280 = 0x60;
/** 0x58 is the production BMP280; 0x56 and 0x57 were early samples. */
export const CHIP_IDS_BMP280: readonly number[] = [0x56, 0x57, 0x58];

export const MODE_SLEEP = 0b00;
export const MODE_FORCED = 0b01;
export const MODE_NORMAL = 0b11;

/** Value of a 20-bit temperature/pressure result whose measurement is skipped (also the reset value). */
export const ADC_SKIPPED_20 = 0x80000;
/** Value of the 16-bit humidity result whose measurement is skipped (also the reset value). */
export const ADC_SKIPPED_16 = 0x8000;

/** Supported oversampling factors (skipping a measurement is not offered: every channel is reported). */
export type Oversampling = 1 | 2 | 4 | 8 | 16;
/** Register encoding of an oversampling factor (osrs_x). */
export const OVERSAMPLING_BITS: Readonly<Record<Oversampling, number>> = {
  1: 0b001,
  2: 0b010,
  4: 0b011,
  8: 0b100,
  16: 0b101,
};

/** IIR filter coefficient (0 = off). */
export type IirFilter = 0 | 2 | 4 | 8 | 16;
/** Register encoding of the IIR filter coefficient. */
export const FILTER_BITS: Readonly<Record<IirFilter, number>> = {
  0: 0b000,
  2: 0b001,
  4: 0b010,
  8: 0b011,
  16: 0b100,
};

export function ctrlMeasValue(osrsT: Oversampling, osrsP: Oversampling, mode: number): number {
  return (OVERSAMPLING_BITS[osrsT] << 5) | (OVERSAMPLING_BITS[osrsP] << 2) | (mode & 0b11);
}

export function ctrlHumValue(osrsH: Oversampling): number {
  return OVERSAMPLING_BITS[osrsH];
}

export function configValue(filter: IirFilter): number {
  // t_sb (standby in normal mode) is irrelevant in forced mode; spi3w_en stays 0 (I2C).
  return FILTER_BITS[filter] << 2;
}

/**
 * Measurement time in ms (datasheet appendix "Measurement time"): typical and maximum, for the given
 * oversampling, humidity included only on a BME280.
 */
export function measurementTimeMs(
  osrsT: Oversampling,
  osrsP: Oversampling,
  osrsH: Oversampling | undefined,
): { typical: number; max: number } {
  const typical = 1 + 2 * osrsT + (2 * osrsP + 0.5) + (osrsH === undefined ? 0 : 2 * osrsH + 0.5);
  const max = 1.25 + 2.3 * osrsT + (2.3 * osrsP + 0.575) + (osrsH === undefined ? 0 : 2.3 * osrsH + 0.575);
  return { typical, max };
}

/** `0x76` style, for messages. */
export function hex(value: number, digits = 2): string {
  return `0x${value.toString(16).padStart(digits, '0')}`;
}
