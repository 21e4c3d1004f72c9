import { Redis } from 'ioredis';
import { loadConfig, redactConfig } from '@sensorfleet/shared/config';
import { MeasuringStateStore } from '@sensorfleet/shared/device-redis/measuring-state';
import { OutboxStore } from '@sensorfleet/shared/device-redis/outbox-store';
import { HealthEndpoint, type HealthReport } from '@sensorfleet/shared/health-endpoint';
import { createLogger } from '@sensorfleet/shared/logger';
import { createMetricsRegistry } from '@sensorfleet/shared/metrics';
import { runService, type Component } from '@sensorfleet/shared/service-runner';
import { registerButtonMetrics } from './button-metrics.js';
import { ButtonService } from './button-service.js';
import { startStopButtonEnv } from './config.js';
import { RedisMeasuringControl } from './redis-measuring-control.js';

const config = loadConfig('startstopbutton', startStopButtonEnv);
const log = createLogger('startstopbutton', config.LOG_LEVEL);
log.info({ config: redactConfig(startStopButtonEnv, config) }, 'starting');
const enabled = config.BUTTON_DRIVER !== 'none';

const registry = createMetricsRegistry('startstopbutton');
const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 1, lazyConnect: true });
redis.on('error', (err) => log.debug({ err }, 'redis connection error'));

// Defaults only matter before anyone wrote the state; the sensor seeds it from its own env at start.
const measuring = new MeasuringStateStore(
  redis,
  { running: true, intervalMs: 1000 },
  config.REDIS_KEY_PREFIX,
);
const button = new ButtonService({
  config,
  control: new RedisMeasuringControl(measuring, new OutboxStore(redis, config.REDIS_KEY_PREFIX)),
  log: log.child({ module: 'button' }),
});
registerButtonMetrics(registry, () => button.status);

const redisConnection: Component = {
  name: 'redis',
  start: () => redis.connect(),
  stop: async () => void (await redis.quit().catch(() => redis.disconnect())),
};

await runService({
  name: 'startstopbutton',
  log,
  components: [
    // Without a button there is nothing to do and no reason to need Redis.
    ...(enabled ? [redisConnection] : []),
    button,
    new HealthEndpoint({
      port: config.METRICS_PORT,
      host: config.METRICS_HOST,
      registry,
      log,
      health: (): HealthReport => {
        const status = button.status;
        if (!enabled) {
          return {
            ok: true,
            checks: { button: { ok: true, detail: { ...status, note: 'BUTTON_DRIVER=none: disabled' } } },
          };
        }
        const redisOk = redis.status === 'ready';
        return {
          ok: redisOk && status.state === 'ready',
          checks: {
            button: { ok: status.state === 'ready', detail: status },
            redis: { ok: redisOk, detail: redis.status },
          },
        };
      },
    }),
  ],
});
