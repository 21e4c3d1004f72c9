import { Redis } from 'ioredis';
import {
  Counter,
  createLogger,
  createMetricsRegistry,
  Gauge,
  HealthEndpoint,
  loadConfig,
  MeasuringStateStore,
  OutboxStore,
  parseTopic,
  redactConfig,
  runService,
  topics,
} from '@sensorfleet/shared';
import { CommandRouter } from './command-router.js';
import { mqtthandlerEnv } from './config.js';
import { Forwarder } from './forwarder.js';
import { MqttLink } from './mqtt-link.js';
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
const publishedReadings = new Counter({
  name: 'sensorfleet_published_readings_total',
  help: 'readings published (incl. resends)',
  registers: [registry],
});
const publishedMessages = new Counter({
  name: 'sensorfleet_published_messages_total',
  help: 'telemetry messages published (incl. resends)',
  registers: [registry],
});
const publishedBytes = new Counter({
  name: 'sensorfleet_published_bytes_total',
  help: 'telemetry payload bytes published',
  registers: [registry],
});
const ackedReadings = new Counter({
  name: 'sensorfleet_acked_readings_total',
  help: 'readings confirmed stored by the backend',
  registers: [registry],
});
const rejectedReadings = new Counter({
  name: 'sensorfleet_rejected_readings_total',
  help: 'readings the backend rejected as invalid',
  registers: [registry],
});
const resends = new Counter({
  name: 'sensorfleet_ack_timeouts_total',
  help: 'times unacknowledged readings were sent again',
  registers: [registry],
});
const seqConflicts = new Counter({
  name: 'sensorfleet_seq_conflicts_total',
  help: 'readings renumbered because the backend stores other readings under their seq (Redis rollback)',
  registers: [registry],
});
const seqRollbacks = new Counter({
  name: 'sensorfleet_seq_rollbacks_total',
  help: 'times the outbox seq counter was found lower than seqs already sent (Redis lost writes)',
  registers: [registry],
});
const commandsTotal = new Counter({
  name: 'sensorfleet_commands_total',
  help: 'commands handled',
  labelNames: ['ok'],
  registers: [registry],
});
// Read from the state the reporter collects every few seconds, also while the broker is away (when the
// backlog matters most and nothing is published).
new Gauge({
  name: 'sensorfleet_outbox_backlog',
  help: 'readings in the outbox (not yet acked)',
  registers: [registry],
  collect() {
    if (reporter.latest) this.set(reporter.latest.backlog);
  },
});
new Gauge({
  name: 'sensorfleet_outbox_oldest_unacked_age_seconds',
  help: 'age of the oldest reading not yet acknowledged by the backend (0 when the outbox is empty)',
  registers: [registry],
  collect() {
    const oldest = reporter.latest?.oldestUnackedTs;
    this.set(oldest ? Math.max(0, (Date.now() - Date.parse(oldest)) / 1000) : 0);
  },
});
new Gauge({
  name: 'sensorfleet_outbox_dropped',
  help: 'readings dropped by the bounded outbox over the life of the device (kept in Redis)',
  registers: [registry],
  collect() {
    if (reporter.latest) this.set(reporter.latest.dropped);
  },
});
const connectedGauge = new Gauge({
  name: 'sensorfleet_mqtt_connected',
  help: '1 when connected to the broker',
  registers: [registry],
});

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
  metrics: {
    published: (n, bytes) => {
      publishedMessages.inc();
      publishedReadings.inc(n);
      publishedBytes.inc(bytes);
    },
    acked: (stored, rejected) => {
      ackedReadings.inc(stored);
      rejectedReadings.inc(rejected);
    },
    resends: () => resends.inc(),
    seqConflicts: (n) => seqConflicts.inc(n),
    seqRollbacks: () => seqRollbacks.inc(),
  },
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
  collect,
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
    connectedGauge.set(1);
    await forwarder.onConnected();
    await reporter.publishNow();
  },
  onDisconnect: () => {
    connectedGauge.set(0);
    forwarder.onDisconnected();
  },
  onMessage: async (topic, payload): Promise<void> => {
    const parsed = parseTopic(topic);
    if (parsed?.deviceId !== deviceId) return;
    if (parsed.kind === 'ack') return forwarder.onAck(payload);
    if (parsed.kind === 'commands') {
      const result = await commands.handle(payload);
      commandsTotal.inc({ ok: String(result.ok) });
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
