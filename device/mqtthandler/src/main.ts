import { Redis } from 'ioredis';
import {
  createLogger,
  createMetricsRegistry,
  HealthEndpoint,
  loadConfig,
  redactConfig,
  runService,
} from '@sensorfleet/shared';
import { AppendWatch } from './append-watch.js';
import { mqtthandlerEnv } from './config.js';
import { DeviceLink } from './device-link.js';
import { createMqtthandlerMetrics } from './mqtthandler-metrics.js';
import { RedisConnection } from './redis-connection.js';
import { VERSION } from './version.js';

const config = loadConfig('mqtthandler', mqtthandlerEnv);
const log = createLogger('mqtthandler', config.LOG_LEVEL);
log.info({ config: redactConfig(mqtthandlerEnv, config), version: VERSION }, 'starting');

const registry = createMetricsRegistry('mqtthandler');
const metrics = createMqtthandlerMetrics(registry);

const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 2, lazyConnect: true });
redis.on('error', (err) => log.debug({ err }, 'redis connection error'));
const subscriber = redis.duplicate();
subscriber.on('error', (err) => log.debug({ err }, 'redis subscriber error'));

const device = new DeviceLink({
  deviceId: config.DEVICE_ID,
  redis,
  keyPrefix: config.REDIS_KEY_PREFIX,
  mqtt: {
    url: config.MQTT_URL,
    username: config.MQTT_USERNAME,
    password: config.MQTT_PASSWORD,
    caFile: config.MQTT_CA_FILE,
    certFile: config.MQTT_CERT_FILE,
    keyFile: config.MQTT_KEY_FILE,
    keepaliveS: config.MQTT_KEEPALIVE_S,
    cleanSession: config.MQTT_CLEAN_SESSION,
    reconnectMinMs: config.MQTT_RECONNECT_MIN_MS,
    reconnectMaxMs: config.MQTT_RECONNECT_MAX_MS,
  },
  batchMax: config.MQTT_BATCH_MAX,
  batchMaxWaitMs: config.MQTT_BATCH_MAX_WAIT_MS,
  inflightMax: config.MQTT_INFLIGHT_MAX,
  ackTimeoutMs: config.MQTT_ACK_TIMEOUT_MS,
  statePublishIntervalMs: config.STATE_PUBLISH_INTERVAL_MS,
  version: VERSION,
  log,
  metrics,
});
const { forwarder, reporter, link } = device;

await runService({
  name: 'mqtthandler',
  log,
  components: [
    new RedisConnection(redis, () => {
      device
        .onStoreReconnected()
        .catch((err: unknown) => log.warn({ err }, 'replay after Redis reconnect failed'));
    }),
    ...device.components,
    new AppendWatch(
      subscriber,
      device.outbox.keys.outboxAppended,
      forwarder,
      log.child({ module: 'append-watch' }),
    ),
    new HealthEndpoint({
      port: config.METRICS_PORT,
      host: config.METRICS_HOST,
      registry,
      log,
      health: () => ({
        ok: redis.status === 'ready',
        checks: {
          redis: { ok: redis.status === 'ready', detail: redis.status },
          // Broker reachability is reported, not required: store-and-forward exists for broker outages.
          mqtt: {
            ok: true,
            detail: { connected: link.connected, reconnectAttempts: link.reconnectAttempts },
          },
          outbox: { ok: true, detail: { inflight: forwarder.inflight, backlog: reporter.latest?.backlog } },
        },
      }),
    }),
  ],
});
