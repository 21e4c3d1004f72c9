import { createPool, failoverMetrics, migrateWhenReady } from '@sensorfleet/mariadb';
import {
  createLogger,
  createMetricsRegistry,
  HealthEndpoint,
  loadConfig,
  redactConfig,
  runService,
  topicFilters,
  topics,
} from '@sensorfleet/shared';
import { foldAll, pendingBatches } from './fold/fold-writer.js';
import { BatchWriter } from './ingest/batch-writer.js';
import { receiverEnv } from './config.js';
import { registerFleetGauges } from './stats/fleet-gauges.js';
import { createProbeAnswerer } from './ingest/probe-answer.js';
import { IngestLoop } from './ingest/ingest-loop.js';
import { IngestStats, StatsReporter } from './stats/ingest-stats.js';
import { MessageIntake } from './intake/message-intake.js';
import type { BrokerIntake, InboundHandler } from './intake/broker-intake.js';
import { ReceiverAmqp } from './intake/receiver-amqp.js';
import { ReceiverMqtt } from './intake/receiver-mqtt.js';
import { createReceiverMetrics } from './stats/receiver-metrics.js';
import { pruneIngestCounters, rotateMessageLog } from './maintenance/retention.js';
import { SingleRunnerJob } from './db/single-runner-job.js';

const config = loadConfig('receiver', receiverEnv);
const log = createLogger('receiver', config.LOG_LEVEL);
log.info({ config: redactConfig(receiverEnv, config) }, 'starting');

const registry = createMetricsRegistry('receiver');
const metrics = createReceiverMetrics(registry);
const stats = new IngestStats();

// READ COMMITTED: the conflict check must see rows other replicas committed a moment ago, and locking
// reads should not take gap locks that make concurrent batches wait for each other.
const pool = createPool(config.DATABASE_URL, {
  connectionLimit: config.INGEST_CONCURRENCY + 3, // + fold, maintenance, one spare
  initSql: 'SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED',
  ...failoverMetrics(registry, log.child({ module: 'database' })),
});
registerFleetGauges(registry, pool, log.child({ module: 'fleet-gauges' }));
const writer = new BatchWriter(pool, {
  messageLog: config.MESSAGE_LOG,
  log: log.child({ module: 'writer' }),
});
const intake = new MessageIntake({
  maxBytes: config.MESSAGE_MAX_BYTES,
  maxFutureMs: config.READING_MAX_FUTURE,
  derivedValues: config.DERIVED_VALUES,
  messageLog: config.MESSAGE_LOG,
  logPayloadBytes: config.MESSAGE_LOG_PAYLOAD_BYTES,
});

let schemaReady = false;
const ingest = new IngestLoop({
  write: async (items) => {
    const result = await writer.write(items);
    stats.committed(result);
    return result;
  },
  publishAck: (deviceId, ack): Promise<void> => broker.publish(topics.ack(deviceId), JSON.stringify(ack)),
  answerProbe: createProbeAnswerer(pool),
  maxRows: config.INGEST_MAX_ROWS,
  maxWaitMs: config.INGEST_MAX_WAIT_MS,
  maxPendingRows: config.INGEST_MAX_PENDING_ROWS,
  concurrency: config.INGEST_CONCURRENCY,
  log: log.child({ module: 'ingest' }),
  metrics: metrics.ingest,
});

const onMessage: InboundHandler = (topic, payload, retained, receipt) => {
  const item = intake.take(topic, payload, retained, Date.now());
  if (!item) {
    metrics.ignoredMessages.inc();
    log.warn({ topic }, 'message on an unexpected topic ignored');
    receipt.committed();
    return;
  }
  metrics.countMessage(item.kind);
  stats.received(item);
  item.receipt = receipt;
  return ingest.accept(item);
};

const share = (filter: string) =>
  config.RECEIVER_SHARED ? `$share/${config.RECEIVER_GROUP}/${filter}` : filter;
const broker: BrokerIntake =
  config.RECEIVER_INTAKE === 'amqp'
    ? new ReceiverAmqp({
        urls: config.AMQP_URL,
        caFile: config.AMQP_CA_FILE,
        queue: config.AMQP_QUEUE,
        prefetch: config.AMQP_PREFETCH,
        replicaId: config.RECEIVER_REPLICA_ID,
        reconnectMinMs: config.RECEIVER_RECONNECT_MIN_MS,
        reconnectMaxMs: config.RECEIVER_RECONNECT_MAX_MS,
        log: log.child({ module: 'amqp' }),
        onMessage,
      })
    : new ReceiverMqtt({
        url: config.MQTT_URL,
        username: config.MQTT_USERNAME,
        password: config.MQTT_PASSWORD,
        caFile: config.MQTT_CA_FILE,
        replicaId: config.RECEIVER_REPLICA_ID,
        sessionExpirySeconds: config.RECEIVER_SESSION_EXPIRY_S,
        reconnectMinMs: config.RECEIVER_RECONNECT_MIN_MS,
        reconnectMaxMs: config.RECEIVER_RECONNECT_MAX_MS,
        subscriptions: [
          topicFilters.telemetry,
          topicFilters.state,
          topicFilters.online,
          ...topicFilters.compat,
        ].map(share),
        catchUp: config.RECEIVER_RETAINED_CATCHUP ? [topicFilters.state, topicFilters.online] : [],
        log: log.child({ module: 'mqtt' }),
        onMessage,
      });

const fold = new SingleRunnerJob({
  name: 'fold',
  pool,
  lockName: 'sensorfleet_ingest_fold',
  intervalMs: config.FOLD_INTERVAL,
  log: log.child({ module: 'fold' }),
  run: async (conn) => {
    const folded = await foldAll(conn, config.FOLD_BATCHES);
    metrics.foldedBatches.inc(folded.batches);
    metrics.foldedRows.inc(folded.rows);
    metrics.foldPending.set(await pendingBatches(conn));
  },
});

const maintenance = new SingleRunnerJob({
  name: 'maintenance',
  pool,
  lockName: 'sensorfleet_ingest_maintenance',
  intervalMs: config.MAINTENANCE_INTERVAL,
  firstDelayMs: Math.min(10_000, config.MAINTENANCE_INTERVAL),
  log: log.child({ module: 'maintenance' }),
  run: async (conn) => {
    const now = Date.now();
    const rotated = await rotateMessageLog(conn, {
      maxAgeMs: config.MESSAGE_LOG_MAX_AGE,
      maxBytes: config.MESSAGE_LOG_MAX_BYTES,
      now,
    });
    const pruned = await pruneIngestCounters(conn, { maxAgeMs: config.INGEST_STATS_MAX_AGE, now });
    metrics.messageLogDeleted.inc({ why: 'age' }, rotated.deletedByAge);
    metrics.messageLogDeleted.inc({ why: 'size' }, rotated.deletedBySize);
    metrics.messageLogBytes.set(rotated.estimatedBytes);
    if (rotated.deletedByAge || rotated.deletedBySize || pruned)
      log.info({ rotated, pruned }, 'old ingest data deleted');
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
        ok: schemaReady && broker.connected && ingest.healthy,
        checks: {
          [broker.name]: { ok: broker.connected },
          database: {
            ok: schemaReady && ingest.healthy,
            detail: { pendingRows: ingest.pendingRows, intakePaused: ingest.paused },
          },
        },
      }),
    }),
    {
      name: 'database',
      // MariaDB may come up after us (or be down for a while): wait for it instead of crash-looping.
      start: async () => {
        await migrateWhenReady(pool, log);
        schemaReady = true;
      },
      stop: () => pool.end(),
    },
    fold,
    maintenance,
    new StatsReporter({
      stats,
      intervalMs: config.STATS_LOG_INTERVAL,
      log: log.child({ module: 'stats' }),
      extra: () => ({
        brokerConnected: broker.connected,
        databaseOk: ingest.healthy,
        pendingRows: ingest.pendingRows,
        heldMessages: broker.heldMessages,
        intakePaused: ingest.paused,
      }),
    }),
    broker,
    ingest,
    // Stopped first: no new messages are taken while the ingest finishes and acks what it has.
    { name: 'intake', start: async () => {}, stop: async () => broker.pause() },
    // Before that, when this replica is being removed for good: no share of new messages is left for it.
    {
      name: 'leave',
      start: async () => {},
      stop: async () => {
        if (config.RECEIVER_LEAVING) await broker.leave?.();
      },
    },
  ],
});
