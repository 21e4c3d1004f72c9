import { hostname } from 'node:os';
import { commonEnv, env, mqttEnv } from '@sensorfleet/shared';

export const MESSAGE_LOG_MODES = ['all', 'rejected', 'off'] as const;
export const INTAKE_KINDS = ['mqtt', 'amqp'] as const;

const REPLICA_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/**
 * The host name as a replica id: stable where the orchestrator gives replicas stable names (a
 * StatefulSet's `receiver-0`, a compose service with `hostname:`), which is what makes the broker's
 * session of a replica find its way back to it.
 */
export function replicaIdFromHostname(name: string): string {
  const id = name
    .replace(/[^A-Za-z0-9_.-]/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 64);
  return id || 'receiver';
}

export const receiverEnv = {
  DATABASE_URL: env.urlList({
    default: 'mariadb://sensorfleet:sensorfleet@localhost:3306/sensorfleet',
    protocols: ['mariadb:', 'mysql:'],
    description:
      'MariaDB to store readings in (`mariadb://user:pass@host:3306/db`); a comma-separated list of such URLs, one per Galera node, fails over in list order (backend/mariadb README)',
    secret: true,
  }),
  ...mqttEnv,
  RECEIVER_INTAKE: env.oneOf(INTAKE_KINDS, {
    default: 'mqtt',
    description:
      'where device messages come from: `mqtt` (persistent MQTT sessions on Mosquitto, the `MQTT_*` variables) ' +
      'or `amqp` (a quorum queue on a RabbitMQ cluster, the `AMQP_*` variables; see "Scaling out")',
  }),
  AMQP_URL: env.urlList({
    default: 'amqp://sensorfleet-receiver:sensorfleet@localhost:5672',
    protocols: ['amqp:', 'amqps:'],
    secret: true,
    description:
      'RabbitMQ nodes for `RECEIVER_INTAKE=amqp`, comma-separated (`amqp://user:pass@rabbit-1:5672,amqp://…`): ' +
      'tried in turn, reconnecting to the next with backoff when one fails',
  }),
  AMQP_CA_FILE: env.optionalString({
    description: 'PEM file of the CA that signed the RabbitMQ certificate (`amqps://`)',
  }),
  AMQP_QUEUE: env.string({
    default: 'sensorfleet.intake',
    pattern: /^[A-Za-z0-9_.:-]{1,200}$/,
    patternText: 'letters, digits, . _ : - (1–200 chars)',
    description:
      'the durable quorum queue all replicas consume (declared and bound to `amq.topic` for the device topics)',
  }),
  AMQP_PREFETCH: env.int({
    default: 1000,
    min: 1,
    max: 65_535,
    description:
      'unacked deliveries one replica holds at most: its batch across messages and the flow control',
  }),
  RECEIVER_GROUP: env.string({
    default: 'receivers',
    pattern: /^[A-Za-z0-9_-]{1,64}$/,
    description: 'shared-subscription group: replicas in one group split the messages between them',
  }),
  RECEIVER_REPLICA_ID: env.string({
    default: replicaIdFromHostname(hostname()),
    defaultText: 'the host name',
    pattern: REPLICA_ID,
    patternText: 'letters, digits, . _ - (1–64 chars)',
    description:
      'stable id of this replica: its broker session (client id `receiver:<id>`) keeps the messages it has ' +
      'not committed and its share of new ones while it is away, for whoever next starts with this id. ' +
      'Every replica needs its own; keep it across restarts and replacements',
  }),
  RECEIVER_SESSION_EXPIRY_S: env.int({
    default: 300,
    min: 1,
    max: 1_209_600,
    description:
      "seconds the broker keeps this replica's session (MQTT 5 session expiry) after its connection " +
      'is gone: what it has not committed and its share of new messages wait that long for it (a restart, ' +
      'a deploy, a host reboot); a replica away longer loses its session, the broker stops handing it a ' +
      'share, and the source-004 messages queued for it are dropped (native devices resend theirs)',
  }),
  RECEIVER_LEAVING: env.bool({
    default: false,
    description:
      'this replica is being removed for good (scaling down): on SIGTERM it unsubscribes, takes and ' +
      'commits what was already queued for it, and ends its broker session, so no share is left waiting ' +
      'for it (MQTT intake; backend/receiver/README.md, "Removing a replica for good")',
  }),
  RECEIVER_RECONNECT_MIN_MS: env.int({
    default: 500,
    min: 100,
    description: 'first broker reconnect delay (then exponential with jitter)',
  }),
  RECEIVER_RECONNECT_MAX_MS: env.int({
    default: 10_000,
    min: 100,
    description: 'broker reconnect delay cap',
  }),
  RECEIVER_SHARED: env.bool({
    default: true,
    description: 'subscribe with `$share/<group>/…` (set false for brokers without shared subscriptions)',
  }),
  RECEIVER_RETAINED_CATCHUP: env.bool({
    default: false,
    description:
      'on every connect, also subscribe to `online`/`state` without `$share` once, to read the retained ' +
      'messages (for brokers that do not send retained messages to shared subscriptions; Mosquitto does)',
  }),
  INGEST_MAX_ROWS: env.int({
    default: 5000,
    min: 1,
    max: 100_000,
    description: 'rows per database transaction at most (readings rows, plus one per message)',
  }),
  INGEST_MAX_WAIT_MS: env.int({
    default: 50,
    min: 0,
    max: 10_000,
    description: 'longest a message waits to be coalesced with others before its transaction commits',
  }),
  INGEST_CONCURRENCY: env.int({
    default: 2,
    min: 1,
    max: 8,
    description:
      'transactions in flight at once per replica (2: the database writes one batch while the next is built)',
  }),
  INGEST_MAX_PENDING_ROWS: env.int({
    default: 50_000,
    min: 100,
    description: 'rows held in memory at most; beyond this the receiver stops taking messages (flow control)',
  }),
  MESSAGE_MAX_BYTES: env.int({
    default: 256 * 1024,
    min: 1024,
    max: 16 * 1024 * 1024,
    description: 'larger payloads are rejected unread (reason `oversized`)',
  }),
  READING_MAX_FUTURE: env.duration({
    default: 86_400_000,
    min: 0,
    description:
      'readings measured further in the future than this are rejected (`bad_timestamp`: device clock wrong);' +
      ' a duration like `30s`, `15m`, `1d`',
  }),
  DERIVED_VALUES: env.bool({
    default: true,
    description: 'store `heat_index` and `dew_point` where `temperature` and `humidity` arrive together',
  }),
  MESSAGE_LOG: env.oneOf(MESSAGE_LOG_MODES, {
    default: 'rejected',
    description:
      'raw inbound messages kept in `message_log`: `all`, `rejected` (messages with anything rejected) or `off`',
  }),
  MESSAGE_LOG_PAYLOAD_BYTES: env.int({
    default: 4096,
    min: 0,
    max: 65_535,
    description: 'bytes of each payload kept in the message log (longer ones are cut, `payload_truncated`)',
  }),
  MESSAGE_LOG_MAX_AGE: env.duration({
    default: 7 * 86_400_000,
    min: 60_000,
    description: 'message log rows older than this are deleted (duration, e.g. `7d`)',
  }),
  MESSAGE_LOG_MAX_BYTES: env.int({
    default: 1024 ** 3,
    min: 1024 * 1024,
    description: 'approximate size limit of the message log in bytes; the oldest rows go first',
  }),
  INGEST_STATS_MAX_AGE: env.duration({
    default: 7 * 86_400_000,
    min: 3_600_000,
    description:
      'per-minute ingest counters (`ingest_counters`, `ingest_rejections`) older than this are deleted (duration)',
  }),
  MAINTENANCE_INTERVAL: env.duration({
    default: 60_000,
    min: 1000,
    description: 'how often one replica rotates the message log and prunes old counters (duration)',
  }),
  FOLD_INTERVAL: env.duration({
    default: 5000,
    min: 100,
    description:
      'how often one replica folds committed batches into the minute/hour rollups, the ingest counters and ' +
      '`devices.last_seen`/`last_seq`: their lag (duration)',
  }),
  // Every fold transaction upserts one rollup row per (device, sensor, minute and hour) its batches touched:
  // with 1,000 live devices at ~25 batches/s, folds of 50 batches wrote each of those rows three times per
  // interval. One fold per interval writes them once.
  FOLD_BATCHES: env.int({
    default: 500,
    min: 1,
    max: 5000,
    description: 'ingest batches folded per fold transaction at most',
  }),
  STATS_LOG_INTERVAL: env.duration({
    default: 60_000,
    min: 0,
    description: 'how often the statistics line is logged (duration; 0 = never)',
  }),
  ...commonEnv(9201),
};
