import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { loadConfig, redactConfig } from '@sensorfleet/shared/config';
import { MeasuringStateStore } from '@sensorfleet/shared/device-redis/measuring-state';
import { OutboxStore } from '@sensorfleet/shared/device-redis/outbox-store';
import { HealthEndpoint } from '@sensorfleet/shared/health-endpoint';
import { createLogger } from '@sensorfleet/shared/logger';
import { createMetricsRegistry } from '@sensorfleet/shared/metrics';
import { runService } from '@sensorfleet/shared/service-runner';
import { sensorEnv } from './config.js';
import { MeasurementLoop } from './measurement-loop.js';
import { seedMeasuringState } from './measuring-seed.js';
import { observeSensor } from './reading-metrics.js';
import { RedisOutboxAppender } from './redis-outbox-appender.js';
import { createSensorMetrics } from './sensor-metrics.js';
import { SensorStatusStore } from './sensor-status-store.js';
import { createSource } from './source-factory.js';

const config = loadConfig('sensor', sensorEnv);
const log = createLogger('sensor', config.LOG_LEVEL);
log.info({ config: redactConfig(sensorEnv, config) }, 'starting');

const registry = createMetricsRegistry('sensor');

// Fail commands fast while Redis is down; the loop keeps readings in memory and retries in order. No
// automatic resend of an append whose reply was lost: PendingAppends checks whether it ran before retrying.
const redis = new Redis(config.REDIS_URL, {
  maxRetriesPerRequest: 1,
  lazyConnect: true,
  autoResendUnfulfilledCommands: false,
});
const subscriber = redis.duplicate();
redis.on('error', (err) => log.debug({ err }, 'redis connection error'));
subscriber.on('error', (err) => log.debug({ err }, 'redis subscriber error'));

const outbox = new OutboxStore(redis, config.REDIS_KEY_PREFIX);
const state = new MeasuringStateStore(
  redis,
  { running: config.SENSOR_START_RUNNING, intervalMs: config.SENSOR_INTERVAL_MS },
  config.REDIS_KEY_PREFIX,
);
const observed = observeSensor(registry, createSource(config, log.child({ module: 'source' })), state);
const loop = new MeasurementLoop({
  source: observed.source,
  outbox: new RedisOutboxAppender(redis, outbox),
  state: observed.state,
  statusStore: new SensorStatusStore(redis, config.REDIS_KEY_PREFIX),
  bounds: { maxReadings: config.OUTBOX_MAX_READINGS, maxAgeMs: config.OUTBOX_MAX_AGE },
  clock: { now: () => Date.now(), monotonic: () => performance.now() },
  log: log.child({ module: 'measurement-loop' }),
  metrics: createSensorMetrics(registry),
});

await runService({
  name: 'sensor',
  log,
  components: [
    {
      name: 'redis',
      start: async () => {
        await redis.connect();
        await seedMeasuringState(redis, config.REDIS_KEY_PREFIX, config.SENSOR_START_RUNNING);
        await subscriber.connect();
        await subscriber.subscribe(state.keys.measuringChanged);
        subscriber.on('message', () => loop.wake());
      },
      stop: async () => {
        subscriber.disconnect();
        await redis.quit();
      },
    },
    loop,
    new HealthEndpoint({
      port: config.METRICS_PORT,
      host: config.METRICS_HOST,
      registry,
      log,
      health: () => {
        const sensor = loop.sensorStatus;
        const redisOk = redis.status === 'ready';
        return {
          ok: redisOk && sensor.status !== 'error',
          checks: {
            redis: { ok: redisOk, detail: { status: redis.status, pendingAppends: loop.pendingAppends } },
            sensor: { ok: sensor.status !== 'error', detail: sensor },
          },
        };
      },
    }),
  ],
});
