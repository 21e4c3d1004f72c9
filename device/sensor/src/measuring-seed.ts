import type { Redis } from 'ioredis';
import { deviceKeys } from '@sensorfleet/shared/device-redis/keys';

/**
 * Writes SENSOR_START_RUNNING into the measuring state if nobody has set it yet (first boot), so the
 * button's toggle and the commands start from the same state the sensor measures by. The interval is not
 * seeded: until a command sets one, SENSOR_INTERVAL_MS applies.
 */
export async function seedMeasuringState(redis: Redis, keyPrefix: string, running: boolean): Promise<void> {
  await redis.hsetnx(deviceKeys(keyPrefix).measuring, 'running', running ? '1' : '0');
}
