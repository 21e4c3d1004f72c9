/**
 * The contract between the sensor service and whatever produces the numbers (a BME280 on I2C, a simulator).
 * A source does no I/O of its own beyond what is injected into it, so it can be tested without hardware.
 */

/** Sensor name → value. Names match {@link SENSOR_NAME_PATTERN}; units are fixed per name (docs/design.md#readings-and-seqs). */
export type SensorValues = Record<string, number>;

/** Sensor names: lowercase letters, digits, underscore, 1–50 chars, not starting with a digit. */
export const SENSOR_NAME_PATTERN = /^[a-z][a-z0-9_]{0,49}$/;

export interface SourceInfo {
  /** What was found, e.g. `BME280`, `BMP280`, `simulated`. */
  model: string;
  /** The sensor names that read() returns. */
  channels: string[];
  /** Anything else worth logging once at start (address, chip id, oversampling, …). */
  detail?: Record<string, unknown>;
}

export interface SensorSource {
  /** Which driver this is (`bme280`, `simulated`); matches the `SENSOR_DRIVER` values. */
  readonly kind: string;
  /** Finds and configures the sensor. Rejects with a clear error if it is not there. */
  open(): Promise<SourceInfo>;
  /** Takes one measurement. Rejects with {@link SensorReadError}; never resolves with made-up values. */
  read(): Promise<SensorValues>;
  /** Releases what the source holds (e.g. the I2C bus). Idempotent. */
  close(): Promise<void>;
}

/**
 * A measurement could not be taken.
 * `transient`: true when trying again later may succeed (bus error, chip unplugged or busy); false when it
 * will not without someone changing something (wrong chip at the address, bad configuration, source closed).
 */
export class SensorReadError extends Error {
  override readonly name = 'SensorReadError';

  constructor(
    message: string,
    readonly transient: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
