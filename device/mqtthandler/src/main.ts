import { Redis } from 'ioredis';
import {
  createLogger,
  createMetricsRegistry,
  HealthEndpoint,
  loadConfig,
  MeasuringStateStore,
  OutboxStore,
  parseReceiverOnline,
  parseTopic,
  redactConfig,
  runService,
  topics,
} from '@sensorfleet/shared';
import { CommandRouter } from './command-router.js';
import { mqtthandlerEnv } from './config.js';
import { Forwarder } from './forwarder.js';
import { MqttLink } from './mqtt-link.js';
import { createMqtthandlerMetrics } from './mqtthandler-metrics.js';
import { RedisCommandResults } from './redis-command-results.js';
import { RedisConnection } from './redis-connection.js';
import { RedisForwarderStore } from './redis-forwarder-store.js';
import { collectState, StateReporter } from './state-reporter.js';
import { VERSION } from './version.js';

const config = loadConfig('mqtthandler', mqtthandlerEnv);
const log = createLogger('mqtthandler', config.LOG_LEVEL);
log.info({ config: redactConfig(mqtthandlerEnv, config), version: VERSION }, 'starting');
const startedAt = Date.now();
const deviceId = config.DEVICE_ID;

const registry = createMetricsRegistry('mqtthandler');
const metrics = createMqtthandlerMetrics(registry);

const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 2, lazyConnect: true });
redis.on('error', (err) => log.debug({ err }, 'redis connection error'));
const outbox = new OutboxStore(redis, config.REDIS_KEY_PREFIX);
const store = new RedisForwarderStore(redis, outbox, config.REDIS_KEY_PREFIX);
// Defaults only matter before the sensor has written any state; the sensor's own env decides them.
const measuring = new MeasuringStateStore(
  redis,
  { running: true, intervalMs: 1000 },
  config.REDIS_KEY_PREFIX,
);

const forwarder: Forwarder = new Forwarder({
  store,
  link: {
    publishTelemetry: (payload): Promise<void> => link.publishTelemetry(payload),
    get connected() {
      return link.connected;
    },
  },
  log: log.child({ module: 'forwarder' }),
  metrics: metrics.forwarder,
  batchMax: config.MQTT_BATCH_MAX,
  batchMaxWaitMs: config.MQTT_BATCH_MAX_WAIT_MS,
  inflightMax: config.MQTT_INFLIGHT_MAX,
  ackTimeoutMs: config.MQTT_ACK_TIMEOUT_MS,
});
const collect = () =>
  collectState({
    outbox,
    measuring,
    redis,
    seqConflicts: () => store.seqConflicts(),
    version: VERSION,
    startedAt,
  });
const reporter = new StateReporter({
  // The gauges follow every collection, not only publishes: the backlog matters most while offline.
  collect: async () => {
    const state = await collect();
    metrics.outbox(state);
    return state;
  },
  publish: (state) => link.publish(topics.state(deviceId), JSON.stringify(state), true),
  connected: () => link.connected,
  intervalMs: config.STATE_PUBLISH_INTERVAL_MS,
  log: log.child({ module: 'state' }),
});
const commands = new CommandRouter({
  control: measuring,
  results: new RedisCommandResults(redis, config.REDIS_KEY_PREFIX),
  status: async () => ({ ...(await collect()) }),
  log: log.child({ module: 'commands' }),
});

const link: MqttLink = new MqttLink({
  url: config.MQTT_URL,
  deviceId,
  username: config.MQTT_USERNAME,
  password: config.MQTT_PASSWORD,
  caFile: config.MQTT_CA_FILE,
  certFile: config.MQTT_CERT_FILE,
  keyFile: config.MQTT_KEY_FILE,
  keepaliveS: config.MQTT_KEEPALIVE_S,
  reconnectMinMs: config.MQTT_RECONNECT_MIN_MS,
  reconnectMaxMs: config.MQTT_RECONNECT_MAX_MS,
  log: log.child({ module: 'mqtt' }),
  onConnect: async () => {
    metrics.connected(true);
    await forwarder.onConnected();
    await reporter.publishNow();
  },
  onDisconnect: () => {
    metrics.connected(false);
    forwarder.onDisconnected();
  },
  onMessage: async (topic, payload, retained): Promise<void> => {
    const receiver = parseReceiverOnline(topic);
    if (receiver !== undefined) {
      // Retained presence is old news: only a receiver coming online now may have missed our window.
      if (!retained && payload.toString() === 'true') forwarder.onReceiverOnline(receiver);
      return;
    }
    const parsed = parseTopic(topic);
    if (parsed?.deviceId !== deviceId) return;
    if (parsed.kind === 'ack') return forwarder.onAck(payload);
    if (parsed.kind === 'commands') {
      const result = await commands.handle(payload);
      metrics.commandHandled(result.ok);
      await link.publish(topics.commandResult(deviceId), JSON.stringify(result), false);
      if (result.ok) await reporter.publishNow();
    }
  },
});

await runService({
  name: 'mqtthandler',
  log,
  components: [
    new RedisConnection(redis, () => {
      if (!link.connected) return; // the next connect replays anyway
      forwarder
        .onStoreReconnected()
        .catch((err: unknown) => log.warn({ err }, 'replay after Redis reconnect failed'));
    }),
    forwarder,
    reporter,
    link,
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
