import { commonEnv, deviceIdEnv, env, mqttNodesEnv, redisEnv } from '@sensorfleet/shared';

export const mqtthandlerEnv = {
  ...deviceIdEnv(),
  ...mqttNodesEnv,
  MQTT_CLEAN_SESSION: env.bool({
    default: true,
    description:
      'clean MQTT session; set false on a RabbitMQ cluster (with `mqtt.durable_queue_type = quorum`) so the ' +
      "device's subscriptions survive the loss of the node it was connected to",
  }),
  ...redisEnv,
  MQTT_BATCH_MAX: env.int({
    default: 100,
    min: 1,
    max: 1000,
    description: 'readings per telemetry message at most',
  }),
  MQTT_BATCH_MAX_WAIT_MS: env.int({
    default: 200,
    min: 10,
    max: 60_000,
    description: 'longest a new reading waits to be batched with others before it is sent',
  }),
  MQTT_INFLIGHT_MAX: env.int({
    default: 2000,
    min: 1,
    max: 100_000,
    description:
      'readings sent but not yet acknowledged, at most (flow-control window; after a (re)connect it starts at two batches and grows by each acked reading)',
  }),
  MQTT_ACK_TIMEOUT_MS: env.int({
    default: 30_000,
    min: 1000,
    description: 'no ack within this time → everything unacknowledged is sent again',
  }),
  MQTT_RECONNECT_MIN_MS: env.int({ default: 2000, min: 100, description: 'first reconnect delay' }),
  MQTT_RECONNECT_MAX_MS: env.int({
    // 60 s: after an outage ends a device is back within a minute (a 300 s cap left a healed 5-minute
    // partition unsent for 2.5 min, drill 6); the jitter still spreads a fleet's reconnects over the cap.
    default: 60_000,
    min: 100,
    description: 'reconnect delay cap (exponential, jittered)',
  }),
  MQTT_KEEPALIVE_S: env.int({ default: 30, min: 5, max: 3600, description: 'MQTT keepalive' }),
  STATE_PUBLISH_INTERVAL_MS: env.int({
    default: 60_000,
    min: 1000,
    description: 'retained device state is re-published this often (and on every change)',
  }),
  ...commonEnv(9102),
};
