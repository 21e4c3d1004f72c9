import { commonEnv, redisEnv } from '@sensorfleet/shared/common-env';
import { env } from '@sensorfleet/shared/config';
import { MAX_INTERVAL_MS, MIN_INTERVAL_MS } from '@sensorfleet/shared/measuring-interval';

export const sensorEnv = {
  ...redisEnv,
  SENSOR_DRIVER: env.oneOf(['bme280', 'simulated'], {
    default: 'simulated',
    description: '`bme280` (I2C) or `simulated` (daily cycles + noise)',
  }),
  SENSOR_INTERVAL_MS: env.int({
    default: 1000,
    // Below the command minimum (100 ms) only for bench and soak runs at up to 100 Hz.
    min: 10,
    max: MAX_INTERVAL_MS,
    description: `measuring interval until a button/command sets another (kept in Redis); commands allow ${MIN_INTERVAL_MS} ms and up`,
  }),
  SENSOR_START_RUNNING: env.bool({
    default: true,
    description: 'measure from first boot; afterwards the state in Redis (button, commands) wins',
  }),
  I2C_BUS: env.int({ default: 1, min: 0, max: 255, description: 'I2C bus number (`/dev/i2c-N`)' }),
  I2C_ADDRESS: env.int({
    default: 0x76,
    defaultText: '0x76',
    min: 0x03,
    max: 0x77,
    description: 'BME280 address: 0x76 or 0x77',
  }),
  SENSOR_SEED: env.int({ default: 1, min: 0, max: 2 ** 31 - 1, description: 'seed of the simulated sensor' }),
  OUTBOX_MAX_READINGS: env.int({
    default: 1_000_000,
    min: 0,
    description: 'outbox bound: oldest readings dropped (and counted) beyond this many; 0 = unbounded',
  }),
  OUTBOX_MAX_AGE: env.duration({
    default: 0,
    bareUnit: 's',
    description: 'outbox bound by age (e.g. `30d`); older readings dropped and counted; 0 = no limit',
  }),
  ...commonEnv(9101),
};
