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
  MOSQUITTO_PASSWORD_FILE: env.string({
    description: "the broker's `password_file`; edited atomically under `<file>.lock`",
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
