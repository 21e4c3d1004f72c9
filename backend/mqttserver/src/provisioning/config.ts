import { env, type EnvVar } from '@sensorfleet/shared';

/** An optional variable with the validation of `v` when it is set (the shared helpers only have strings). */
function optional<T>(v: EnvVar<T>): EnvVar<T | undefined> {
  return {
    ...v,
    required: false,
    parse: (raw) => (raw === undefined || raw.trim() === '' ? undefined : v.parse(raw)),
  };
}

/** Environment of `npm run device` (backend/mqttserver/src/provisioning). Relative paths are taken from where npm was run. */
export const provisioningEnv = {
  PROVISIONING_BROKER: env.oneOf(['mosquitto', 'rabbitmq'] as const, {
    default: 'mosquitto',
    description:
      'where accounts live: `mosquitto` (password file + ACL) or `rabbitmq` (users, permissions and topic ' +
      'permissions through `rabbitmqctl`; see "Scaling out")',
  }),
  MOSQUITTO_PASSWORD_FILE: env.optionalString({
    description:
      "the broker's `password_file`; edited atomically under `<file>.lock` (required with `PROVISIONING_BROKER=mosquitto`)",
  }),
  RABBITMQCTL: env.string({
    default: 'rabbitmqctl',
    description:
      'the `rabbitmqctl` command for `PROVISIONING_BROKER=rabbitmq`, words split on spaces ' +
      '(e.g. `docker compose -f docker-compose.cluster.yml exec -T rabbitmq-1 rabbitmqctl`)',
  }),
  RABBITMQ_NODE: env.optionalString({
    description:
      'Erlang node `rabbitmqctl` talks to (`-n`), e.g. `rabbit@rabbitmq-1`; default: its own default',
  }),
  RABBITMQ_INTAKE_QUEUE: env.string({
    default: 'sensorfleet.intake',
    description:
      "the receivers' intake queue (their `AMQP_QUEUE`): the receiver account may use only this one",
  }),
  MOSQUITTO_ACL_FILE: env.optionalString({
    description: "the broker's `acl_file`; when set, checked to grant the account what it needs",
  }),
  MOSQUITTO_PID_FILE: env.optionalString({
    description: 'file holding the broker pid: the broker gets SIGHUP (reload accounts) after each change',
  }),
  MOSQUITTO_PID: optional(
    env.int({ min: 1, description: 'broker pid, instead of MOSQUITTO_PID_FILE (flag `--pid`)' }),
  ),
  PUBLIC_MQTT_URL: optional(
    env.url({
      protocols: ['mqtt:', 'mqtts:', 'ws:', 'wss:'],
      description: 'the broker as devices reach it, printed as MQTT_URL (flag `--mqtt-url`)',
    }),
  ),
  DATABASE_URL: optional(
    env.urlList({
      protocols: ['mariadb:', 'mysql:'],
      secret: true,
      description:
        'backend MariaDB: devices are registered in `devices` (skipped when unset); a comma-separated list for a Galera cluster',
    }),
  ),
  MOSQUITTO_PASSWD_BIN: env.optionalString({
    description: '`mosquitto_passwd` to use (default: from PATH or /usr/bin)',
  }),
};
