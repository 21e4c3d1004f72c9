import { commonEnv, env, mqttEnv } from '@sensorfleet/shared';

export const brokerMetricsEnv = {
  ...mqttEnv,
  ...commonEnv(9234),
  BROKER_METRICS_STALE_S: env.int({
    default: 60,
    min: 5,
    description:
      'seconds without a `$SYS` value before /health reports the statistics stale (a few times the broker’s `sys_interval`)',
  }),
};
