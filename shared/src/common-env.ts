import { env } from './config.js';
import { DEVICE_ID_REGEX } from './topics.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Variables every service has. Each service picks its own default metrics port so they can share a host. */
export function commonEnv(defaultMetricsPort: number) {
  return {
    LOG_LEVEL: env.oneOf(LOG_LEVELS, { default: 'info', description: 'pino log level' }),
    METRICS_PORT: env.int({
      default: defaultMetricsPort,
      min: 0,
      max: 65535,
      description: 'port of the `/health` and `/metrics` HTTP endpoint (0 = any free port)',
    }),
    METRICS_HOST: env.string({
      default: '0.0.0.0',
      description: 'address the health/metrics endpoint binds to',
    }),
  };
}

export const mqttEnv = {
  MQTT_URL: env.url({
    default: 'mqtt://localhost:1883',
    protocols: ['mqtt:', 'mqtts:', 'ws:', 'wss:'],
    description: 'broker URL; `mqtts://` for TLS',
  }),
  MQTT_USERNAME: env.optionalString({ description: 'broker user name' }),
  MQTT_PASSWORD: env.optionalString({ description: 'broker password', secret: true }),
  MQTT_CA_FILE: env.optionalString({
    description: 'PEM file of the CA that signed the broker certificate (TLS)',
  }),
  MQTT_CERT_FILE: env.optionalString({ description: 'client certificate PEM (TLS client auth, optional)' }),
  MQTT_KEY_FILE: env.optionalString({ description: 'client key PEM (TLS client auth, optional)' }),
};

/**
 * `mqttEnv` for a client that follows the nodes of a broker cluster itself (the device's mqtthandler,
 * the web admin): `MQTT_URL` may list them, and a lost connection moves the client to the next one.
 */
export const mqttNodesEnv = {
  ...mqttEnv,
  MQTT_URL: env.urlList({
    default: 'mqtt://localhost:1883',
    protocols: ['mqtt:', 'mqtts:', 'ws:', 'wss:'],
    description:
      'broker URL; `mqtts://` for TLS. A comma-separated list for a broker cluster (`mqtts://rabbit-1:8883,mqtts://rabbit-2:8883`): ' +
      'after a lost connection the client reconnects to the next one',
  }),
};

/** DEVICE_ID, falling back to balena's device UUID: a device needs no extra configuration on balena. */
export function deviceIdEnv() {
  return {
    DEVICE_ID: env.string({
      default: process.env.BALENA_DEVICE_UUID || undefined,
      pattern: DEVICE_ID_REGEX,
      patternText: 'letters, digits, . _ - (1–64 chars; default: BALENA_DEVICE_UUID)',
      description: 'device id used in MQTT topics (default: `BALENA_DEVICE_UUID`)',
    }),
  };
}

export const redisEnv = {
  REDIS_URL: env.url({
    default: 'redis://localhost:6379',
    protocols: ['redis:', 'rediss:'],
    description: 'device Redis',
  }),
  REDIS_KEY_PREFIX: env.string({
    default: 'sf:',
    pattern: /^[A-Za-z0-9:_-]{0,32}$/,
    description: 'prefix of all device keys (lets simulated devices share one Redis)',
  }),
};
