import { commonEnv, env, mqttNodesEnv, type ConfigOf } from '@sensorfleet/shared';
import { parseWebhookAllowList } from './alerts/webhook-address-policy.js';

export const webadminEnv = {
  DATABASE_URL: env.urlList({
    default: 'mariadb://sensorfleet:sensorfleet@localhost:3306/sensorfleet',
    protocols: ['mariadb:', 'mysql:'],
    description:
      'MariaDB of the backend (`mariadb://user:pass@host:3306/db`); a comma-separated list of such URLs, one per Galera node, fails over in list order (backend/mariadb README)',
    secret: true,
  }),
  ...mqttNodesEnv,
  MQTT_RECONNECT_MIN_MS: env.int({
    default: 500,
    min: 100,
    description:
      'first broker reconnect delay (then exponential with jitter, to the next node of `MQTT_URL`)',
  }),
  MQTT_RECONNECT_MAX_MS: env.int({
    default: 10_000,
    min: 100,
    description: 'broker reconnect delay cap',
  }),
  HTTP_PORT: env.int({ default: 8080, min: 0, max: 65535, description: 'port of the web admin (0 = any)' }),
  HTTP_HOST: env.string({ default: '0.0.0.0', description: 'address the web admin binds to' }),
  PUBLIC_URL: env.optionalString({
    description:
      'URL people open (e.g. `https://admin.example.com`): the only accepted `Origin` for state changes, and ' +
      '`https://` makes cookies `Secure`; unset = the request’s own Host',
  }),
  TRUST_PROXY: env.string({
    default: 'false',
    description:
      'fastify `trustProxy` behind a load balancer: `true`, `false`, a hop count or comma-separated addresses ' +
      '/ CIDRs; decides the client IP the login rate limit counts',
  }),
  SESSION_IDLE_TTL: env.duration({
    default: 12 * 3_600_000,
    min: 60_000,
    description: 'a session unused this long ends (duration, e.g. `12h`)',
  }),
  SESSION_MAX_AGE: env.duration({
    default: 7 * 86_400_000,
    min: 60_000,
    description: 'a session ends this long after login whatever its use (duration)',
  }),
  LOGIN_RATE_WINDOW: env.duration({
    default: 15 * 60_000,
    min: 1000,
    description: 'window of the login rate limit (duration)',
  }),
  LOGIN_MAX_FAILURES_PER_USER: env.int({
    default: 10,
    min: 1,
    description: 'failed logins per user name within the window before further attempts get 429',
  }),
  LOGIN_MAX_FAILURES_PER_IP: env.int({
    default: 50,
    min: 1,
    description: 'failed logins per client IP within the window before further attempts get 429',
  }),
  COMMAND_DEFAULT_TTL: env.duration({
    default: 10 * 60_000,
    min: 1000,
    max: 7 * 86_400_000,
    description: 'a command without `expiresAt` expires this long after it was created (duration)',
  }),
  COMMAND_POLL_INTERVAL: env.duration({
    default: 2000,
    min: 50,
    description:
      'how often each replica looks for pending commands of online devices and expires old ones (a device ' +
      'coming online or a new command triggers it at once)',
  }),
  LIVE_TICK: env.duration({
    // 100 ms: a replay of thousands of readings costs each browser at most 10 messages per device and
    // second; a device quieter than that (1 Hz) has each reading sent the moment it arrives.
    default: 100,
    min: 10,
    max: 1000,
    description:
      'a device sends browsers at most one live reading per tick: the first at once, later ones coalesced to the newest at the end of the tick',
  }),
  LIVE_CLIENT_BUFFER_BYTES: env.int({
    default: 512 * 1024,
    min: 1024,
    description: 'unsent bytes per WebSocket beyond which messages to that client are dropped (and counted)',
  }),
  LIVE_CHANGE_POLL: env.duration({
    default: 1000,
    min: 50,
    description: 'how often each replica reads command status changes (made by any replica) for its sockets',
  }),
  ALERT_EVAL_INTERVAL_MS: env.int({
    default: 5000,
    min: 100,
    max: 10_000,
    description:
      'how often alert rules are judged (by one replica at a time); a firing alert is seen within this plus ' +
      'the time readings take to be committed',
  }),
  SMTP_URL: env.optionalString({
    description:
      'mail server for e-mail alerts (`smtp://host:587`, STARTTLS when offered; `smtps://host:465` for TLS; ' +
      'user and password in the URL); unset = e-mail targets are refused when a rule is saved',
    secret: true,
    check: (raw) => {
      try {
        return ['smtp:', 'smtps:'].includes(new URL(raw).protocol) ? undefined : 'must use smtp: or smtps:';
      } catch {
        return 'must be a URL like smtp://host:587';
      }
    },
  }),
  ALERT_MAIL_FROM: env.string({
    default: 'sensorfleet <alerts@localhost>',
    pattern: /^[^\r\n]{3,200}$/,
    patternText: 'one line of 3–200 characters',
    description: 'sender (`From`) of alert e-mails',
  }),
  ALERT_WEBHOOK_ALLOW: env.optionalString({
    description:
      'comma-separated host names and CIDRs webhooks may reach although they are not public (private, ' +
      'loopback, …); a listed host may also use http. Unset = https to public addresses only',
    check: (raw) => {
      try {
        parseWebhookAllowList(raw);
        return undefined;
      } catch (err) {
        return (err as Error).message;
      }
    },
  }),
  ...commonEnv(9202),
};

export type WebadminConfig = ConfigOf<typeof webadminEnv>;

/** `TRUST_PROXY` as fastify takes it. */
export function trustProxyOption(raw: string): boolean | number | string[] {
  const v = raw.trim().toLowerCase();
  if (v === 'true') return true;
  if (v === 'false' || v === '') return false;
  if (/^\d+$/.test(v)) return Number(v);
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}
