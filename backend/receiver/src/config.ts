import { commonEnv, env, mqttEnv } from '@sensorfleet/shared';

export const receiverEnv = {
  DATABASE_URL: env.url({
    default: 'mariadb://sensorfleet:sensorfleet@localhost:3306/sensorfleet',
    protocols: ['mariadb:', 'mysql:'],
    description: 'MariaDB to store readings in (`mariadb://user:pass@host:3306/db`)',
    secret: true,
  }),
  ...mqttEnv,
  RECEIVER_GROUP: env.string({
    default: 'receivers',
    pattern: /^[A-Za-z0-9_-]{1,64}$/,
    description: 'shared-subscription group: replicas in one group split the telemetry between them',
  }),
  RECEIVER_SHARED: env.bool({
    default: true,
    description: 'subscribe with `$share/<group>/…` (set false for brokers without shared subscriptions)',
  }),
  INGEST_MAX_ROWS: env.int({
    default: 5000,
    min: 1,
    max: 100_000,
    description: 'rows per database transaction at most',
  }),
  INGEST_MAX_WAIT_MS: env.int({
    default: 50,
    min: 0,
    max: 10_000,
    description: 'longest a message waits to be coalesced with others before its transaction commits',
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
    description: 'larger payloads are rejected unread',
  }),
  ...commonEnv(9201),
};
