import type { Logger } from '@sensorfleet/shared';
import { Bme280Source, type I2cBus } from './sources/bme280-source.js';
import { openI2cBus } from './sources/open-i2c-bus.js';
import type { SensorSource, SensorValues, SourceInfo } from './sources/sensor-source.js';
import { SimulatedSource } from './sources/simulated-source.js';

/**
 * BME280 whose bus is opened in open(), not at construction: a missing /dev/i2c-N then becomes a sensor
 * error that is reported and retried, instead of a crash loop of the container.
 */
class Bme280OnBus implements SensorSource {
  readonly kind = 'bme280';
  private bus: I2cBus | undefined;
  private chip: Bme280Source | undefined;

  constructor(
    private readonly busNumber: number,
    private readonly address: number,
  ) {}

  async open(): Promise<SourceInfo> {
    this.bus ??= await openI2cBus(this.busNumber);
    this.chip ??= new Bme280Source(this.bus, this.address);
    return this.chip.open();
  }

  read(): Promise<SensorValues> {
    if (!this.chip) return Promise.reject(new Error('sensor not opened'));
    return this.chip.read();
  }

  async close(): Promise<void> {
    await this.chip?.close();
    this.chip = undefined;
    this.bus = undefined;
  }
}

export function createSource(
  config: {
    SENSOR_DRIVER: 'bme280' | 'simulated';
    I2C_BUS: number;
    I2C_ADDRESS: number;
    SENSOR_SEED: number;
  },
  log: Logger,
): SensorSource {
  if (config.SENSOR_DRIVER === 'bme280') {
    log.info(
      { bus: config.I2C_BUS, address: `0x${config.I2C_ADDRESS.toString(16)}` },
      'using BME280 over I2C',
    );
    return new Bme280OnBus(config.I2C_BUS, config.I2C_ADDRESS);
  }
  return new SimulatedSource({ seed: config.SENSOR_SEED, now: Date.now });
}
