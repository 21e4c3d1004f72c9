import { createPool, failoverMetrics, migrateWhenReady } from '@sensorfleet/mariadb';
import { createMetricsRegistry, type Component, type Logger, type Registry } from '@sensorfleet/shared';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { Pool } from 'mariadb';
import { AlertEvaluator } from './alerts/alert-evaluator.js';
import { AlertStore } from './alerts/alert-store.js';
import { AlertWatch } from './alerts/alert-watch.js';
import { MailSender } from './alerts/mail-sender.js';
import { NotificationDispatcher } from './alerts/notification-dispatcher.js';
import { parseWebhookAllowList } from './alerts/webhook-address-policy.js';
import { buildApp } from './app.js';
import { AuditLog } from './audit-log.js';
import { ApiTokenStore } from './auth/api-token-store.js';
import { AuthService } from './auth/auth-service.js';
import { LoginLimiter } from './auth/login-limiter.js';
import { SessionStore } from './auth/session-store.js';
import { UserStore } from './auth/user-store.js';
import { CommandService } from './commands/command-service.js';
import { CommandStore } from './commands/command-store.js';
import { DesiredStatePublisher } from './commands/desired-state-publisher.js';
import { ResultRecorder } from './commands/result-recorder.js';
import type { WebadminConfig } from './config.js';
import { BrokerLink } from './live/broker-link.js';
import { CommandWatch } from './live/command-watch.js';
import { LiveHub } from './live/live-hub.js';
import { createWebadminMetrics } from './metrics.js';

/** Tests: shorter outbox retries, leases and storm windows. */
export type AlertDispatchOptions = Partial<ConstructorParameters<typeof NotificationDispatcher>[0]>;

export interface Webadmin {
  app: FastifyInstance;
  pool: Pool;
  registry: Registry;
  broker: BrokerLink;
  publisher: DesiredStatePublisher;
  hub: LiveHub;
  evaluator: AlertEvaluator;
  dispatcher: NotificationDispatcher;
  /** In start order; stop in reverse. The HTTP listener is not among them (main.ts listens). */
  components: Component[];
  schemaReady(): boolean;
}

/**
 * Builds every part of one web admin replica from its config: the composition main.ts runs and the
 * integration tests start (twice, for two replicas) without a process of their own.
 */
export async function createWebadmin(
  config: WebadminConfig,
  log: Logger,
  opts: {
    extraPlugins?: FastifyPluginAsync[];
    registry?: Registry;
    alertDispatch?: AlertDispatchOptions;
  } = {},
): Promise<Webadmin> {
  const registry = opts.registry ?? createMetricsRegistry('webadmin');
  const metrics = createWebadminMetrics(registry);
  // READ COMMITTED: the publisher's locking reads need no gap locks, which under REPEATABLE READ made the
  // result recorder's update and the publisher's deadlock now and then (and the victim may have published).
  const pool = createPool(config.DATABASE_URL, {
    connectionLimit: 10,
    initSql: 'SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED',
    ...failoverMetrics(registry, log.child({ module: 'database' })),
  });
  const users = new UserStore(pool);
  const sessions = new SessionStore(pool, {
    idleTtlMs: config.SESSION_IDLE_TTL,
    maxAgeMs: config.SESSION_MAX_AGE,
  });
  const tokens = new ApiTokenStore(pool);
  const limiter = new LoginLimiter(pool, {
    windowMs: config.LOGIN_RATE_WINDOW,
    maxFailuresPerUser: config.LOGIN_MAX_FAILURES_PER_USER,
    maxFailuresPerIp: config.LOGIN_MAX_FAILURES_PER_IP,
  });
  const audit = new AuditLog(pool);
  const auth = new AuthService({
    users,
    sessions,
    tokens,
    limiter,
    audit,
    log: log.child({ module: 'auth' }),
  });

  const broker = new BrokerLink({
    url: config.MQTT_URL,
    username: config.MQTT_USERNAME,
    password: config.MQTT_PASSWORD,
    caFile: config.MQTT_CA_FILE,
    reconnectMinMs: config.MQTT_RECONNECT_MIN_MS,
    reconnectMaxMs: config.MQTT_RECONNECT_MAX_MS,
    log: log.child({ module: 'broker' }),
    // Whatever changed while the link was down was not seen here: pages refetch it from the database
    // (which the receivers kept up to date), and the publisher looks for devices that came online.
    onReconnect: () => {
      hub.resync();
      publisher.kick();
    },
  });
  const store = new CommandStore(pool);
  const publisher = new DesiredStatePublisher({
    pool,
    store,
    broker,
    log: log.child({ module: 'desired-state' }),
    intervalMs: config.COMMAND_POLL_INTERVAL,
    onPublished: (n) => metrics.commandsPublished.inc(n),
    onExpired: (n) => metrics.commandsExpired.inc(n),
  });
  const results = new ResultRecorder({
    store,
    log: log.child({ module: 'results' }),
    onOutcome: (o) => metrics.commandResults.inc({ outcome: o }),
  });
  const commands = new CommandService({
    pool,
    store,
    audit,
    defaultTtlMs: config.COMMAND_DEFAULT_TTL,
    onCreated: () => publisher.kick(),
    onAccepted: (c) => metrics.commandsCreated.inc({ command: c }),
  });
  const hub = new LiveHub({
    tickMs: config.LIVE_TICK,
    maxBufferBytes: config.LIVE_CLIENT_BUFFER_BYTES,
    log: log.child({ module: 'live' }),
    onSent: (n) => metrics.wsSent.inc(n),
    onDropped: (n) => metrics.wsDropped.inc(n),
    onClients: (n) => metrics.wsClients.set(n),
    onReading: () => metrics.liveReadings.inc(),
  });
  const watch = new CommandWatch({
    store,
    intervalMs: config.LIVE_CHANGE_POLL,
    log: log.child({ module: 'command-watch' }),
    onChange: (v) => hub.command(v),
  });

  const webhookAllow = parseWebhookAllowList(config.ALERT_WEBHOOK_ALLOW);
  const alertStore = new AlertStore(pool);
  const dispatcher = new NotificationDispatcher({
    pool,
    log: log.child({ module: 'alert-dispatch' }),
    mail: config.SMTP_URL ? new MailSender(config.SMTP_URL, config.ALERT_MAIL_FROM) : undefined,
    allow: webhookAllow,
    onSent: (channel, n) => metrics.alertNotificationsSent.inc({ channel }, n),
    onFailed: (channel, n) => metrics.alertNotificationsFailed.inc({ channel }, n),
    onRetried: (channel, n) => metrics.alertNotificationsRetried.inc({ channel }, n),
    ...opts.alertDispatch,
  });
  const evaluator = new AlertEvaluator({
    pool,
    log: log.child({ module: 'alert-evaluator' }),
    intervalMs: config.ALERT_EVAL_INTERVAL_MS,
    publicUrl: config.PUBLIC_URL,
    onRound: (s) => metrics.alertEvaluationDuration.observe(s),
    onNotifications: () => dispatcher.kick(),
  });
  const alertWatch = new AlertWatch({
    store: alertStore,
    intervalMs: config.LIVE_CHANGE_POLL,
    log: log.child({ module: 'alert-watch' }),
    onChange: (v) => hub.alert(v),
  });
  const alertGauges: Component & { timer?: NodeJS.Timeout } = {
    name: 'alert-gauges',
    start: async () => {
      const refresh = async () => {
        const open = (await pool.query(
          "SELECT severity, COUNT(*) AS n FROM alerts WHERE state <> 'resolved' GROUP BY severity",
        )) as { severity: string; n: number }[];
        for (const s of ['info', 'warning', 'critical'])
          metrics.alertsOpen.set({ severity: s }, Number(open.find((o) => o.severity === s)?.n ?? 0));
        const [p] = (await pool.query(
          "SELECT COUNT(*) AS n FROM alert_notifications WHERE status = 'pending'",
        )) as { n: number }[];
        metrics.alertOutboxPending.set(Number(p?.n ?? 0));
        outboxPending = Number(p?.n ?? 0);
      };
      alertGauges.timer = setInterval(() => {
        void refresh().catch((err: unknown) => log.debug({ err }, 'alert gauges not refreshed'));
      }, 5000);
      alertGauges.timer.unref();
    },
    stop: async () => clearInterval(alertGauges.timer),
  };
  let outboxPending: number | undefined;

  broker.on('telemetry', (deviceId, payload) => hub.telemetry(deviceId, payload));
  broker.on('online', (deviceId, payload) => {
    const online = payload.toString('utf8').trim() === 'true';
    hub.online(deviceId, online);
    // A device that says it is online gets its pending commands now, not at the next poll.
    if (online) publisher.kick(deviceId);
  });
  broker.on('state', (deviceId, payload) => {
    try {
      const state = JSON.parse(payload.toString('utf8')) as unknown;
      if (state && typeof state === 'object' && !Array.isArray(state))
        hub.state(deviceId, state as Record<string, unknown>);
    } catch {
      // malformed state: the receiver logs and counts it; nothing to show live
    }
  });
  broker.on('commandResult', (deviceId, payload) => {
    void results
      .handle(deviceId, payload)
      .catch((err: unknown) => log.warn({ err, deviceId }, 'recording a command result failed'));
  });

  let schemaReady = false;
  const app = await buildApp(
    {
      pool,
      log,
      auth,
      audit,
      commands,
      live: hub,
      metrics,
      alerts: { mailConfigured: config.SMTP_URL !== undefined, webhookAllow },
      health: async () => {
        let db = false;
        try {
          await pool.query('SELECT 1');
          db = schemaReady;
        } catch {
          db = false;
        }
        return {
          ok: db && broker.connected,
          checks: {
            database: { ok: db },
            mqtt: { ok: broker.connected },
            // Information only: a backlog of notifications is no reason to take the web admin out of service.
            ...(outboxPending !== undefined
              ? { alertOutbox: { ok: true, detail: { pending: outboxPending } } }
              : {}),
          },
        };
      },
      config,
    },
    { extraPlugins: opts.extraPlugins ?? [] },
  );

  const housekeeping: Component & { timer?: NodeJS.Timeout } = {
    name: 'housekeeping',
    start: async () => {
      // Ended sessions and old login attempts go; idempotent, so every replica may do it.
      housekeeping.timer = setInterval(() => {
        void Promise.all([
          sessions.purgeExpired(),
          limiter.purge(),
          alertStore.purgeCancelled(new Date(Date.now() - 3_600_000)),
        ]).catch((err: unknown) => log.warn({ err }, 'housekeeping failed'));
      }, 60_000);
      housekeeping.timer.unref();
    },
    stop: async () => clearInterval(housekeeping.timer),
  };

  const database: Component = {
    name: 'database',
    // MariaDB may come up after us: wait for it instead of crash-looping.
    start: async () => {
      await migrateWhenReady(pool, log);
      schemaReady = true;
    },
    stop: () => pool.end(),
  };

  return {
    app,
    pool,
    registry,
    broker,
    publisher,
    hub,
    evaluator,
    dispatcher,
    schemaReady: () => schemaReady,
    components: [
      database,
      broker,
      hub,
      watch,
      publisher,
      housekeeping,
      alertWatch,
      evaluator,
      dispatcher,
      alertGauges,
    ],
  };
}
