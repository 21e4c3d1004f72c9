import { createPool, migrate } from '@sensorfleet/mariadb';
import {
  Counter,
  createLogger,
  createMetricsRegistry,
  Gauge,
  HealthEndpoint,
  Histogram,
  loadConfig,
  parseTopic,
  redactConfig,
  runService,
  topicFilters,
  topics,
} from '@sensorfleet/shared';
import { receiverEnv } from './config.js';
import { ReadingsWriter } from './readings-writer.js';
import { ReceiverMqtt } from './receiver-mqtt.js';
import { TelemetryIngest } from './telemetry-ingest.js';
import { createTelemetryValidator } from './telemetry-validator.js';

const config = loadConfig('receiver', receiverEnv);
const log = createLogger('receiver', config.LOG_LEVEL);
log.info({ config: redactConfig(receiverEnv, config) }, 'starting');

const registry = createMetricsRegistry('receiver');
const messages = new Counter({
  name: 'sensorfleet_messages_total',
  help: 'telemetry messages received',
  registers: [registry],
});
const rejectedMessages = new Counter({
  name: 'sensorfleet_rejected_messages_total',
  help: 'messages rejected as a whole, by reason',
  labelNames: ['reason'],
  registers: [registry],
});
const rejectedReadings = new Counter({
  name: 'sensorfleet_rejected_readings_total',
  help: 'single readings rejected',
  registers: [registry],
});
const storedRows = new Counter({
  name: 'sensorfleet_stored_rows_total',
  help: 'rows newly stored',
  registers: [registry],
});
const duplicateRows = new Counter({
  name: 'sensorfleet_duplicate_rows_total',
  help: 'rows already stored (replays)',
  registers: [registry],
});
const writeFailures = new Counter({
  name: 'sensorfleet_db_write_failures_total',
  help: 'failed transactions',
  registers: [registry],
});
const pendingRows = new Gauge({
  name: 'sensorfleet_pending_rows',
  help: 'rows waiting for a transaction',
  registers: [registry],
});
const batchRows = new Histogram({
  name: 'sensorfleet_batch_rows',
  help: 'rows per transaction',
  buckets: [1, 10, 50, 100, 500, 1000, 5000, 20000],
  registers: [registry],
});
const commitSeconds = new Histogram({
  name: 'sensorfleet_commit_seconds',
  help: 'time to write and commit one transaction',
  buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  registers: [registry],
});
const lagSeconds = new Histogram({
  name: 'sensorfleet_ingest_lag_seconds',
  help: 'reading ts → committed',
  buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60, 300, 3600],
  registers: [registry],
});

const pool = createPool(config.DATABASE_URL, { connectionLimit: 4 });
const writer = new ReadingsWriter(pool);
const validate = createTelemetryValidator(config.MESSAGE_MAX_BYTES);

let schemaReady = false;
const ingest = new TelemetryIngest({
  write: (ms) => writer.write(ms),
  publishAck: (deviceId, ack) => mqttSession.publish(topics.ack(deviceId), JSON.stringify(ack)),
  maxRows: config.INGEST_MAX_ROWS,
  maxWaitMs: config.INGEST_MAX_WAIT_MS,
  maxPendingRows: config.INGEST_MAX_PENDING_ROWS,
  log: log.child({ module: 'ingest' }),
  metrics: {
    committed: (batch, result, commitMs, lags) => {
      storedRows.inc(result.inserted);
      duplicateRows.inc(result.duplicates);
      batchRows.observe(batch.rows);
      commitSeconds.observe(commitMs / 1000);
      for (const l of lags) lagSeconds.observe(Math.max(0, l) / 1000);
    },
    writeFailed: () => writeFailures.inc(),
    pending: (rows) => pendingRows.set(rows),
  },
});

const mqttSession = new ReceiverMqtt({
  url: config.MQTT_URL,
  username: config.MQTT_USERNAME,
  password: config.MQTT_PASSWORD,
  caFile: config.MQTT_CA_FILE,
  subscriptions: [
    config.RECEIVER_SHARED ? topicFilters.sharedTelemetry(config.RECEIVER_GROUP) : topicFilters.telemetry,
  ],
  log: log.child({ module: 'mqtt' }),
  onMessage: async (topic, payload) => {
    const parsed = parseTopic(topic);
    if (parsed?.kind !== 'telemetry') {
      rejectedMessages.inc({ reason: 'bad_topic' });
      log.warn({ topic }, 'message on an unexpected topic ignored');
      return;
    }
    messages.inc();
    const v = validate(payload);
    if (!v.ok) {
      rejectedMessages.inc({ reason: v.reason });
      log.warn(
        { deviceId: parsed.deviceId, reason: v.reason, error: v.error, bytes: payload.length },
        'telemetry rejected',
      );
      return;
    }
    if (v.rejected.length) {
      rejectedReadings.inc(v.rejected.length);
      log.warn({ deviceId: parsed.deviceId, rejected: v.rejected.slice(0, 10) }, 'readings rejected');
    }
    await ingest.accept({
      deviceId: parsed.deviceId,
      readings: v.readings,
      rejected: v.rejected,
      receivedAt: Date.now(),
    });
  },
});

await runService({
  name: 'receiver',
  log,
  components: [
    new HealthEndpoint({
      port: config.METRICS_PORT,
      host: config.METRICS_HOST,
      registry,
      log,
      health: () => ({
        ok: schemaReady && mqttSession.connected && ingest.healthy,
        checks: {
          mqtt: { ok: mqttSession.connected },
          database: { ok: schemaReady && ingest.healthy, detail: { pendingRows: ingest.pendingRows } },
        },
      }),
    }),
    {
      name: 'database',
      // MariaDB may come up after us (or be down for a while): wait for it instead of crash-looping.
      start: async () => {
        for (let attempt = 1; ; attempt++) {
          try {
            const result = await migrate(pool);
            log.info(result, 'database schema up to date');
            schemaReady = true;
            return;
          } catch (err) {
            const delay = Math.min(10_000, 500 * 2 ** Math.min(attempt, 6));
            log.warn({ err, attempt, retryInMs: delay }, 'database not ready; waiting');
            await new Promise((r) => setTimeout(r, delay));
          }
        }
      },
      stop: () => pool.end(),
    },
    mqttSession,
    ingest,
    // Stopped first: no new messages are taken while the ingest finishes and acks what it has.
    { name: 'intake', start: async () => {}, stop: async () => mqttSession.pause() },
  ],
});
