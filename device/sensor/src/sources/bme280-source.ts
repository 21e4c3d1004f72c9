/**
 * BME280 / BMP280 driver on an injected I2C bus (i2c-bus's promisified API, or a test emulator).
 *
 * - open(): checks the chip id, soft-resets, waits for the NVM copy, reads the calibration (a failed read is
 *   an error), then writes ctrl_hum before ctrl_meas (ctrl_hum only takes effect on the next ctrl_meas
 *   write) and config, leaving the chip asleep.
 * - read(): one forced-mode measurement: ctrl_meas with mode=01, poll status.measuring (bounded), burst-read
 *   the data registers, compensate with Bosch's double-precision formulas.
 * - A rejected bus operation is retried (after re-initialising the chip) a few times; then read() rejects
 *   with SensorReadError(transient=true). After any failure the next read() re-initialises, so a chip that
 *   was unplugged and plugged back in (and so lost its configuration) works again.
 */
import type { PromisifiedBus } from 'i2c-bus';
import { setTimeout as delay } from 'node:timers/promises';
import {
  CalibrationError,
  parseBme280Calibration,
  parseTemperaturePressureCalibration,
  type Bme280Calibration,
  type Bmp280Calibration,
} from './bme280-calibration.js';
import {
  compensateHumidity,
  compensatePressure,
  compensateTemperature,
  raw16,
  raw20,
} from './bme280-compensation.js';
import {
  ADC_SKIPPED_16,
  ADC_SKIPPED_20,
  CALIB_H_LENGTH,
  CALIB_TP_LENGTH,
  CHIP_ID_BME280,
  CHIP_IDS_BMP280,
  DATA_LENGTH_BME280,
  DATA_LENGTH_BMP280,
  FILTER_BITS,
  MODE_FORCED,
  MODE_SLEEP,
  OVERSAMPLING_BITS,
  REG_CALIB_H,
  REG_CALIB_TP,
  REG_CHIP_ID,
  REG_CONFIG,
  REG_CTRL_HUM,
  REG_CTRL_MEAS,
  REG_DATA,
  REG_RESET,
  REG_STATUS,
  RESET_COMMAND,
  STATUS_IM_UPDATE,
  STATUS_MEASURING,
  configValue,
  ctrlHumValue,
  ctrlMeasValue,
  hex,
  measurementTimeMs,
  type IirFilter,
  type Oversampling,
} from './bme280-registers.js';
import { SensorReadError, type SensorSource, type SensorValues, type SourceInfo } from './sensor-source.js';

/** The part of i2c-bus's PromisifiedBus the driver uses; a test emulator implements just this. */
export type I2cBus = Pick<PromisifiedBus, 'readI2cBlock' | 'writeByte' | 'readByte' | 'close'>;

export interface Bme280Options {
  /** Oversampling per measurement (default ×1 each, Bosch's "weather monitoring" setting). */
  oversampling?: { temperature?: Oversampling; pressure?: Oversampling; humidity?: Oversampling };
  /** IIR filter coefficient (default 0 = off). */
  filter?: IirFilter;
  /** Extra attempts after a failed bus operation (default 3). */
  retries?: number;
  /** Pause before each retry (default 50 ms). */
  retryDelayMs?: number;
  /** Injected for tests (default: a real timer). */
  sleep?: (ms: number) => Promise<void>;
  /** Pause between status polls while the chip is measuring (default 2 ms). */
  statusPollIntervalMs?: number;
  /** Status reads before a measurement is given up as stuck (default 25). */
  maxStatusPolls?: number;
  /** Bus name for messages, e.g. `/dev/i2c-1`. */
  busName?: string;
}

export type Bme280Model = 'BME280' | 'BMP280';

/** Start-up time after a soft reset (datasheet: 2 ms). */
const STARTUP_MS = 2;
/** Status reads while the NVM copy runs after reset before giving up. */
const MAX_NVM_POLLS = 10;
/** Output rounding: the datasheet resolution of T is 0.01 °C; H 0.008 %RH; P 0.16 Pa (we keep 0.01 Pa). */
const DECIMALS = { temperature: 2, humidity: 2, pressureHpa: 4 } as const;

interface ChipState {
  model: Bme280Model;
  chipId: number;
  calibration: Bmp280Calibration | Bme280Calibration;
}

/** A bus operation was rejected (NACK, EIO, …): worth retrying. */
class I2cOperationError extends Error {
  override readonly name = 'I2cOperationError';
  readonly code: string | undefined;
  constructor(what: string, cause: unknown) {
    const code = errorCode(cause);
    super(`I2C ${what} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.code = code;
  }
}

/** The chip answered but the data make no sense (skipped measurement, stuck status, bad calibration). */
class ChipDataError extends Error {
  override readonly name = 'ChipDataError';
}

/** Something answers at the address, but it is not a BME280/BMP280: retrying will not help. */
class WrongChipError extends Error {
  override readonly name = 'WrongChipError';
}

function errorCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string')
    return err.code;
  return undefined;
}

function round(value: number, decimals: number): number {
  const f = 10 ** decimals;
  return Math.round(value * f) / f;
}

function checkOversampling(value: Oversampling | undefined, name: string): Oversampling {
  const v = value ?? 1;
  if (!Object.prototype.hasOwnProperty.call(OVERSAMPLING_BITS, v)) {
    throw new RangeError(`BME280 ${name} oversampling must be 1, 2, 4, 8 or 16, got ${String(value)}`);
  }
  return v;
}

function checkCount(value: number | undefined, fallback: number, name: string, min: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < min)
    throw new RangeError(`BME280 option ${name} must be an integer ≥ ${min}`);
  return v;
}

export class Bme280Source implements SensorSource {
  readonly kind = 'bme280';

  private readonly osrsT: Oversampling;
  private readonly osrsP: Oversampling;
  private readonly osrsH: Oversampling;
  private readonly filter: IirFilter;
  private readonly retries: number;
  private readonly retryDelayMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly statusPollIntervalMs: number;
  private readonly maxStatusPolls: number;
  private readonly where: string;

  private state: ChipState | undefined;
  private opened = false;
  private closing: Promise<void> | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly bus: I2cBus,
    private readonly address: number,
    options: Bme280Options = {},
  ) {
    if (!Number.isInteger(address) || address < 0x03 || address > 0x77) {
      throw new RangeError(
        `I2C address must be an integer in 0x03..0x77 (0x76 or 0x77 for a BME280), got ${address}`,
      );
    }
    this.osrsT = checkOversampling(options.oversampling?.temperature, 'temperature');
    this.osrsP = checkOversampling(options.oversampling?.pressure, 'pressure');
    this.osrsH = checkOversampling(options.oversampling?.humidity, 'humidity');
    const filter = options.filter ?? 0;
    if (!Object.prototype.hasOwnProperty.call(FILTER_BITS, filter)) {
      throw new RangeError(`BME280 filter must be 0, 2, 4, 8 or 16, got ${String(options.filter)}`);
    }
    this.filter = filter;
    this.retries = checkCount(options.retries, 3, 'retries', 0);
    this.retryDelayMs = checkCount(options.retryDelayMs, 50, 'retryDelayMs', 0);
    this.statusPollIntervalMs = checkCount(options.statusPollIntervalMs, 2, 'statusPollIntervalMs', 0);
    this.maxStatusPolls = checkCount(options.maxStatusPolls, 25, 'maxStatusPolls', 1);
    this.sleep = options.sleep ?? ((ms) => delay(ms));
    this.where = `at I2C address ${hex(address)}${options.busName ? ` on ${options.busName}` : ''}`;
  }

  open(): Promise<SourceInfo> {
    if (this.closing) return Promise.reject(this.closedError());
    return this.exclusive(async () => {
      const state = await this.withRetries('open', () => this.initialise());
      this.state = state;
      this.opened = true;
      return this.describe(state);
    });
  }

  read(): Promise<SensorValues> {
    if (this.closing) return Promise.reject(this.closedError());
    if (!this.opened) {
      return Promise.reject(new SensorReadError(`BME280 ${this.where}: read() called before open()`, false));
    }
    return this.exclusive(() =>
      this.withRetries('read', async () => {
        this.state ??= await this.initialise();
        return this.measure(this.state);
      }),
    );
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.queue;
      this.state = undefined;
      this.opened = false;
      await this.bus.close();
    })();
    return this.closing;
  }

  /** Runs `fn` after everything queued before it: I2C transactions of two calls must not interleave. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private closedError(): SensorReadError {
    return new SensorReadError(`BME280 ${this.where}: source is closed`, false);
  }

  private async withRetries<T>(what: 'open' | 'read', fn: () => Promise<T>): Promise<T> {
    let lastError: unknown;
    let attempts = 0;
    while (attempts <= this.retries) {
      attempts += 1;
      try {
        return await fn();
      } catch (err) {
        // Whatever failed, start from scratch next time: the chip may have been reset or replaced.
        this.state = undefined;
        lastError = err;
        if (
          err instanceof WrongChipError ||
          !(err instanceof I2cOperationError || err instanceof ChipDataError)
        ) {
          break;
        }
        if (attempts <= this.retries) await this.sleep(this.retryDelayMs);
      }
    }
    throw this.toSensorReadError(what, lastError, attempts);
  }

  private toSensorReadError(what: 'open' | 'read', err: unknown, attempts: number): SensorReadError {
    const reason = err instanceof Error ? err.message : String(err);
    const tries = attempts === 1 ? '' : ` (${attempts} attempts)`;
    if (err instanceof WrongChipError) {
      return new SensorReadError(reason, false, { cause: err });
    }
    if (err instanceof I2cOperationError) {
      const hint =
        what === 'open'
          ? `; check the wiring, that I2C is enabled, and the address (0x76 with SDO to GND, 0x77 with SDO to VDDIO)`
          : '';
      return new SensorReadError(`BME280 ${this.where}: ${what} failed${tries}: ${reason}${hint}`, true, {
        cause: err,
      });
    }
    if (err instanceof ChipDataError) {
      return new SensorReadError(`BME280 ${this.where}: ${what} failed${tries}: ${reason}`, true, {
        cause: err,
      });
    }
    return new SensorReadError(`BME280 ${this.where}: ${what} failed: ${reason}`, false, { cause: err });
  }

  /** Wraps one bus operation so that its rejection is recognised as an I2C error. */
  private async io<T>(what: string, op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      throw new I2cOperationError(what, err);
    }
  }

  private readRegister(register: number): Promise<number> {
    return this.io(`read of register ${hex(register)}`, () => this.bus.readByte(this.address, register));
  }

  private writeRegister(register: number, value: number): Promise<void> {
    return this.io(`write of ${hex(value)} to register ${hex(register)}`, () =>
      this.bus.writeByte(this.address, register, value),
    );
  }

  private async readBlock(register: number, length: number): Promise<Buffer> {
    const what = `read of ${length} bytes from register ${hex(register)}`;
    const { bytesRead, buffer } = await this.io(what, () =>
      this.bus.readI2cBlock(this.address, register, length, Buffer.alloc(length)),
    );
    if (bytesRead !== length) throw new I2cOperationError(what, new Error(`short read: ${bytesRead} bytes`));
    return buffer.subarray(0, length);
  }

  private async initialise(): Promise<ChipState> {
    const chipId = await this.readRegister(REG_CHIP_ID);
    let model: Bme280Model;
    if (chipId === CHIP_ID_BME280) model = 'BME280';
    else if (CHIP_IDS_BMP280.includes(chipId)) model = 'BMP280';
    else {
      throw new WrongChipError(
        `No BME280/BMP280 ${this.where}: chip id register ${hex(REG_CHIP_ID)} reads ${hex(chipId)} ` +
          `(expected 0x60 for a BME280, 0x58/0x57/0x56 for a BMP280); check I2C_ADDRESS (0x76 or 0x77)`,
      );
    }

    await this.writeRegister(REG_RESET, RESET_COMMAND);
    await this.sleep(STARTUP_MS);
    for (let polls = 1; ; polls++) {
      const status = await this.readRegister(REG_STATUS);
      if ((status & STATUS_IM_UPDATE) === 0) break;
      if (polls >= MAX_NVM_POLLS) {
        throw new ChipDataError(`calibration data still being copied from NVM after ${polls} status polls`);
      }
      await this.sleep(STARTUP_MS);
    }

    const block1 = await this.readBlock(REG_CALIB_TP, CALIB_TP_LENGTH);
    let calibration: Bmp280Calibration | Bme280Calibration;
    try {
      if (model === 'BME280') {
        const block2 = await this.readBlock(REG_CALIB_H, CALIB_H_LENGTH);
        calibration = parseBme280Calibration(block1, block2);
      } else {
        calibration = parseTemperaturePressureCalibration(block1);
      }
    } catch (err) {
      if (err instanceof CalibrationError) throw new ChipDataError(`bad calibration data: ${err.message}`);
      throw err;
    }

    // ctrl_hum first: a change of ctrl_hum only becomes effective after a write to ctrl_meas.
    if (model === 'BME280') await this.writeRegister(REG_CTRL_HUM, ctrlHumValue(this.osrsH));
    await this.writeRegister(REG_CTRL_MEAS, ctrlMeasValue(this.osrsT, this.osrsP, MODE_SLEEP));
    await this.writeRegister(REG_CONFIG, configValue(this.filter));
    return { model, chipId, calibration };
  }

  private async measure(state: ChipState): Promise<SensorValues> {
    const humidity = state.model === 'BME280';
    // ctrl_hum again (cheap): if the chip browned out since initialise(), humidity would silently be skipped.
    if (humidity) await this.writeRegister(REG_CTRL_HUM, ctrlHumValue(this.osrsH));
    await this.writeRegister(REG_CTRL_MEAS, ctrlMeasValue(this.osrsT, this.osrsP, MODE_FORCED));
    const time = measurementTimeMs(this.osrsT, this.osrsP, humidity ? this.osrsH : undefined);
    await this.sleep(Math.ceil(time.typical));
    for (let polls = 1; ; polls++) {
      const status = await this.readRegister(REG_STATUS);
      if ((status & STATUS_MEASURING) === 0) break;
      if (polls >= this.maxStatusPolls) {
        throw new ChipDataError(`still measuring after ${polls} status polls`);
      }
      await this.sleep(this.statusPollIntervalMs);
    }

    const data = await this.readBlock(REG_DATA, humidity ? DATA_LENGTH_BME280 : DATA_LENGTH_BMP280);
    const adcP = raw20(data.readUInt8(0), data.readUInt8(1), data.readUInt8(2));
    const adcT = raw20(data.readUInt8(3), data.readUInt8(4), data.readUInt8(5));
    if (adcT === ADC_SKIPPED_20)
      throw new ChipDataError('temperature measurement skipped (0x80000): chip not configured');
    if (adcP === ADC_SKIPPED_20)
      throw new ChipDataError('pressure measurement skipped (0x80000): chip not configured');

    const cal = state.calibration;
    const { temperature, tFine } = compensateTemperature(adcT, cal);
    const pressurePa = compensatePressure(adcP, tFine, cal);
    if (pressurePa === undefined) throw new ChipDataError('pressure calibration invalid (division by zero)');
    const values: SensorValues = { temperature: round(temperature, DECIMALS.temperature) };
    if (humidity && 'digH1' in cal) {
      const adcH = raw16(data.readUInt8(6), data.readUInt8(7));
      if (adcH === ADC_SKIPPED_16)
        throw new ChipDataError('humidity measurement skipped (0x8000): chip not configured');
      values.humidity = round(compensateHumidity(adcH, tFine, cal), DECIMALS.humidity);
    }
    values.pressure = round(pressurePa / 100, DECIMALS.pressureHpa);
    for (const [name, value] of Object.entries(values)) {
      if (!Number.isFinite(value)) throw new ChipDataError(`${name} computed as ${value}`);
    }
    return values;
  }

  private describe(state: ChipState): SourceInfo {
    const humidity = state.model === 'BME280';
    const detail: Record<string, unknown> = {
      address: hex(this.address),
      chipId: hex(state.chipId),
      mode: 'forced',
      oversampling: humidity
        ? { temperature: this.osrsT, pressure: this.osrsP, humidity: this.osrsH }
        : { temperature: this.osrsT, pressure: this.osrsP },
      filter: this.filter,
      humiditySensor: humidity,
    };
    if (!humidity) detail.note = 'BMP280: no humidity sensor, only temperature and pressure are reported';
    return {
      model: state.model,
      channels: humidity ? ['temperature', 'humidity', 'pressure'] : ['temperature', 'pressure'],
      detail,
    };
  }
}
