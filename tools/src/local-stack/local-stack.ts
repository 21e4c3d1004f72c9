import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { FleetProcess } from '../fleet/fleet-process.js';
import {
  BULK_PATH_NICE,
  findBinary,
  freePort,
  httpGet,
  MariaDbServer,
  NodeService,
  PrometheusServer,
  RedisServer,
  REPO_ROOT,
  SecuredBroker,
  setCpuPriority,
  type ManagedServer,
} from '../harness/index.js';
import { startMailCatcher, type MailCatcher } from './mail-catcher.js';
import { localPrometheusConfig } from './prometheus-config.js';

export interface LocalStackOptions {
  /** Data of every server and service; kept across runs (delete it to start from scratch). */
  dataDir: string;
  /** Try the well-known ports first (16379, 11883, 13306, 8080, …: stable commands to copy). Default true. */
  preferredPorts?: boolean;
  /** Simulated devices in the fleet process (0 = none). Default 10. */
  fleetSize?: number;
  /** Measuring interval of the device and of every fleet device. Default 1000 ms. */
  intervalMs?: number;
  logLevel?: string;
  /** Start Prometheus when it is installed. Default true. */
  prometheus?: boolean;
  /** Where the stack reports what it starts and the status line (one call per line). Default: nowhere. */
  out?: (line: string) => void;
  /** How often the status line (stored readings) is written; 0 = never. Default 10 s. */
  statusEveryMs?: number;
}

export interface LocalStack {
  dataDir: string;
  webadminUrl: string;
  /** The web admin's /health (on its metrics port, like every service). */
  webadminHealthUrl: string;
  /** Only on the first run (no web admin user yet): the generated password of `admin`. */
  adminPassword: string | undefined;
  databaseUrl: string;
  db: MariaDbServer;
  /** Backend listener (service accounts). */
  brokerUrl: string;
  /** Device listener (client id = user name). */
  deviceBrokerUrl: string;
  prometheusUrl: string | undefined;
  /** The local mail catcher: its page, and the SMTP URL the web admin sends alert e-mails to. */
  mailUrl: string;
  smtpUrl: string;
  /** The device run as real processes (sensor, startstopbutton, mqtthandler, its own Redis). */
  deviceId: string;
  fleetIds: string[];
  /** Every /health URL of our own processes. */
  healthUrls: string[];
  /** Every process the stack started, in start order. */
  servers: readonly ManagedServer[];
  stop(): Promise<void>;
}

export const DEVICE_ID = 'dev-001';

/** The preferred port if free, else undefined (the harness then takes a free one). */
function portOr(preferred: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(undefined));
    s.listen(preferred, '127.0.0.1', () => s.close(() => resolve(preferred)));
  });
}

export function fleetIdsOf(size: number): string[] {
  const width = Math.max(3, String(size).length);
  return Array.from({ length: size }, (_, i) => `sim-${String(i + 1).padStart(width, '0')}`);
}

/**
 * The whole system on this machine, no Docker: private Redis, Mosquitto (the shipped secured config) and
 * MariaDB with their data under `dataDir`, the receiver and the web admin, one device as real processes
 * with its own Redis from the shipped device/redis/redis.conf, the fleet simulator (one process, every
 * device with its own outbox and broker account) and Prometheus when installed. Every service gets the
 * env its container would get. `stop()` stops everything in reverse order.
 */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const dataDir = path.resolve(options.dataDir);
  const intervalMs = options.intervalMs ?? 1000;
  const fleetSize = options.fleetSize ?? 10;
  const logLevel = options.logLevel ?? 'info';
  const say = options.out ?? (() => {});
  const port = (preferred: number) =>
    options.preferredPorts === false ? Promise.resolve(undefined) : portOr(preferred);
  const started: ManagedServer[] = [];
  let statusTimer: NodeJS.Timeout | undefined;
  let mail: MailCatcher | undefined;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (statusTimer) clearInterval(statusTimer);
    for (const s of [...started].reverse()) await s.stop().catch(() => {});
    await mail?.stop().catch(() => {});
  };

  async function startServer<T extends ManagedServer>(what: string, make: () => Promise<T>): Promise<T> {
    const server = await make();
    started.push(server);
    say(
      `  ${what.padEnd(20)} 127.0.0.1:${server.port}   data: ${path.relative(process.cwd(), server.dir) || '.'}`,
    );
    return server;
  }

  try {
    say(`sensorfleet local stack (data in ${dataDir})`);
    // The broker runs the shipped secured config (no anonymous access, per-device ACL); every service and
    // device gets its own account, as in production. Passwords are new at every start.
    let secured: SecuredBroker | undefined;
    const broker = await startServer('mosquitto', async () => {
      secured = await SecuredBroker.start({
        dir: path.join(dataDir, 'mosquitto'),
        port: await port(11883),
        devicePort: await port(11884),
      });
      return secured.server;
    });
    const fleetIds = fleetIdsOf(fleetSize);
    // One reload for all accounts: a fleet of hundreds would otherwise wait for hundreds of reloads.
    const passwords = await secured!.setAccounts(['webadmin', 'receiver', DEVICE_ID, ...fleetIds]);
    const account = (user: string) => ({ MQTT_USERNAME: user, MQTT_PASSWORD: passwords.get(user)! });
    const db = await startServer('mariadb', async () =>
      MariaDbServer.start({ dir: path.join(dataDir, 'mariadb'), port: await port(13306) }),
    );
    await db.query(
      'CREATE DATABASE IF NOT EXISTS sensorfleet CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci',
    );
    const databaseUrl = db.databaseUrl('sensorfleet');
    const common = { LOG_LEVEL: logLevel, MQTT_URL: broker.url };
    const svcDir = (name: string) => path.join(dataDir, 'services', name);

    const receiver = await startServer('receiver', async () =>
      NodeService.start('backend/receiver', {
        dir: svcDir('receiver'),
        env: { ...common, ...account('receiver'), DATABASE_URL: databaseUrl },
      }),
    );

    // The live path first: a replaying fleet's storing must not hold up the broker and the web admin.
    const bulkNiced = [db.pid, receiver.pid].every((pid) => setCpuPriority(pid, BULK_PATH_NICE));
    if (!bulkNiced) {
      say(
        `  note: receiver and MariaDB could not be set to niceness ${BULK_PATH_NICE}; they share the CPU equally with the live path`,
      );
    }

    // ── Extra local services start here ──────────────────────────────────────────────────────────────
    // Services the web admin talks to (e.g. a local SMTP catcher): start them with startServer() and put
    // the variables the web admin needs into webadminExtraEnv; print their URLs in the block below.
    // Alert e-mails go to a local catcher (files in <data>/mail, listed on a page); webhooks may target
    // this machine's own sinks.
    mail = await startMailCatcher({
      dir: path.join(dataDir, 'mail'),
      smtpPort: (await port(2525)) ?? 0,
      httpPort: (await port(8025)) ?? 0,
    });
    say(
      `  ${'mail catcher'.padEnd(20)} ${mail.smtpUrl.replace(/^smtp:\/\//, '')}   data: ${path.relative(process.cwd(), path.join(dataDir, 'mail')) || '.'}`,
    );
    const webadminExtraEnv: Record<string, string> = {
      SMTP_URL: mail.smtpUrl,
      ALERT_MAIL_FROM: 'sensorfleet <alerts@sensorfleet.local>',
      ALERT_WEBHOOK_ALLOW: '127.0.0.1,::1',
    };
    // ─────────────────────────────────────────────────────────────────────────────────────────────────

    // The web admin, and on first run an `admin` account with a random password (shown once, below).
    const httpPort = (await port(8080)) ?? (await freePort());
    const webadminUrl = `http://127.0.0.1:${httpPort}`;
    const webadmin = await startServer('webadmin', async () =>
      NodeService.start('backend/webadmin', {
        dir: svcDir('webadmin'),
        env: {
          ...common,
          ...account('webadmin'),
          DATABASE_URL: databaseUrl,
          HTTP_PORT: String(httpPort),
          HTTP_HOST: '127.0.0.1',
          PUBLIC_URL: webadminUrl,
          ...webadminExtraEnv,
        },
      }),
    );
    // Healthy = schema migrated: the accounts table exists.
    const healthy = () =>
      httpGet(webadmin.healthUrl).then(
        (r) => r.status === 200,
        () => false,
      );
    for (let i = 0; i < 120 && !(await healthy()); i++) await new Promise((r) => setTimeout(r, 500));
    const userCli = path.join(REPO_ROOT, 'backend/webadmin/dist/cli/user.js');
    const [users] = (await db.query('SELECT COUNT(*) AS n FROM sensorfleet.webadmin_users')) as {
      n: number;
    }[];
    const adminPassword =
      Number(users?.n ?? 0) === 0
        ? execFileSync(process.execPath, [userCli, 'add', 'admin', '--role', 'admin', '--generate'], {
            env: { PATH: process.env.PATH, DATABASE_URL: databaseUrl },
            encoding: 'utf8',
            stdio: ['ignore', 'pipe', 'ignore'],
          }).trim()
        : undefined;

    // The device: its own Redis from the shipped config, the three device services as on balena.
    const deviceRedis = await startServer('device redis', async () =>
      RedisServer.start({ dir: path.join(dataDir, 'device-redis'), port: await port(16379) }),
    );
    const deviceEnv = { LOG_LEVEL: logLevel, REDIS_URL: deviceRedis.url };
    const device: NodeService[] = [];
    device.push(
      await startServer(`${DEVICE_ID} sensor`, async () =>
        NodeService.start('device/sensor', {
          dir: svcDir(`${DEVICE_ID}-sensor`),
          label: `${DEVICE_ID}-sensor`,
          env: {
            ...deviceEnv,
            SENSOR_DRIVER: 'simulated',
            SENSOR_INTERVAL_MS: String(intervalMs),
            SENSOR_SEED: '1',
          },
        }),
      ),
      await startServer(`${DEVICE_ID} button`, async () =>
        NodeService.start('device/startstopbutton', {
          dir: svcDir(`${DEVICE_ID}-startstopbutton`),
          label: `${DEVICE_ID}-startstopbutton`,
          env: { ...deviceEnv, BUTTON_DRIVER: 'none' },
        }),
      ),
      await startServer(`${DEVICE_ID} mqtthandler`, async () =>
        NodeService.start('device/mqtthandler', {
          dir: svcDir(`${DEVICE_ID}-mqtthandler`),
          label: `${DEVICE_ID}-mqtthandler`,
          // Devices use the device listener: there the broker makes their user name their client id.
          env: { ...deviceEnv, ...account(DEVICE_ID), MQTT_URL: secured!.deviceUrl, DEVICE_ID },
        }),
      ),
    );

    // The fleet: one process, every device with its own outbox (key prefix) in the fleet's Redis.
    let fleet: FleetProcess | undefined;
    let fleetRedis: RedisServer | undefined;
    if (fleetSize > 0) {
      fleetRedis = await startServer('fleet redis', async () =>
        RedisServer.start({ dir: path.join(dataDir, 'fleet-redis'), port: await port(16380) }),
      );
      const credentials = path.join(dataDir, 'fleet', 'credentials.json');
      mkdirSync(path.dirname(credentials), { recursive: true });
      writeFileSync(
        credentials,
        JSON.stringify(fleetIds.map((id) => ({ id, username: id, password: passwords.get(id) }))),
        { mode: 0o600 },
      );
      const redisUrl = fleetRedis.url;
      fleet = await startServer(`fleet (${fleetSize})`, async () =>
        FleetProcess.start({
          dir: path.join(dataDir, 'fleet'),
          args: [
            '--url',
            secured!.deviceUrl,
            '--credentials',
            credentials,
            '--redis',
            redisUrl,
            '--rate',
            String(1000 / intervalMs),
          ],
          env: { LOG_LEVEL: logLevel === 'info' ? 'warn' : logLevel },
        }),
      );
    }

    const services: { job: string; server: NodeService | FleetProcess }[] = [
      { job: 'receiver', server: receiver },
      { job: 'webadmin', server: webadmin },
      { job: 'sensor', server: device[0]! },
      { job: 'startstopbutton', server: device[1]! },
      { job: 'mqtthandler', server: device[2]! },
      ...(fleet ? [{ job: 'fleet', server: fleet }] : []),
    ];
    let prometheus: PrometheusServer | undefined;
    let prometheusNote = 'Prometheus: not started (turned off).';
    if (options.prometheus !== false) {
      if (path.isAbsolute(findBinary('prometheus', 'PROMETHEUS_BIN'))) {
        const config = localPrometheusConfig(services.map((s) => ({ job: s.job, port: s.server.port })));
        prometheus = await startServer('prometheus', async () =>
          PrometheusServer.start({ dir: path.join(dataDir, 'prometheus'), port: await port(19090), config }),
        );
      } else {
        prometheusNote = 'Prometheus: not installed (apt-get install prometheus), skipped.';
        say(`  prometheus           skipped: not installed`);
      }
    }

    const watcher = account('webadmin');
    say(`
Running: device ${DEVICE_ID} (sensor, startstopbutton, mqtthandler and its own Redis) and ${fleetSize} simulated
fleet device(s) in one process, each measuring every ${intervalMs} ms → MQTT → receiver → MariaDB.

Look at the data:
  mariadb -h 127.0.0.1 -P ${db.port} -u root sensorfleet -e "SELECT device_id, sensor, COUNT(*), MAX(measured_at) FROM readings GROUP BY 1, 2"
  mosquitto_sub -h 127.0.0.1 -p ${broker.port} -u webadmin -P '${watcher.MQTT_PASSWORD}' -t 'devices/#' -v
  redis-cli -p ${deviceRedis.port} XLEN sf:outbox        (${DEVICE_ID}'s outbox: readings not yet acknowledged)${
    fleetRedis && fleetIds[0]
      ? `\n  redis-cli -p ${fleetRedis.port} XLEN fleet:${fleetIds[0]}:outbox   (a fleet device's outbox)`
      : ''
  }
Steer a device (same as the button):
  mosquitto_pub -h 127.0.0.1 -p ${broker.port} -u webadmin -P '${watcher.MQTT_PASSWORD}' -t devices/${DEVICE_ID}/commands -m '{"id":"c1","command":"stop"}'
The broker refuses anonymous clients. Devices connect to ${secured!.deviceUrl} (client id = user name),
services and the commands above to port ${broker.port} (the backend listener). Provision a real device against this stack with
  MOSQUITTO_PASSWORD_FILE=${secured!.passwordFile} MOSQUITTO_PID_FILE=${secured!.pidFile} \\
  DATABASE_URL=${databaseUrl} PUBLIC_MQTT_URL=${secured!.deviceUrl} npm run device -- add <id>   (servers listen on 127.0.0.1 only)
More simulated devices: npm run fleet -- --url ${secured!.deviceUrl} --credentials <file> (README "Fleet simulator").
Health and Prometheus metrics: every service's /health and /metrics (ports below).
${prometheus ? `Prometheus: ${prometheus.url}   (scrapes every service below, job names as in the shipped configs)` : prometheusNote}
Logs: ${path.relative(process.cwd(), path.join(dataDir, 'services')) || '.'}/<name>/*.out.log, fleet: ${path.relative(process.cwd(), path.join(dataDir, 'fleet')) || '.'}/fleet.out.log
Web admin: ${webadminUrl}   (API docs: ${webadminUrl}/docs)
  ${adminPassword ? `first run: log in as admin / ${adminPassword}   (shown once; new one: npm run user -- reset admin)` : 'log in with your account (the admin account was made on the first run)'}
  more users: DATABASE_URL=${databaseUrl} npm run user -- add <name> --role viewer|operator|admin
  (reset/remove/list/token <name>: see backend/webadmin/README.md "CLI"; the same DATABASE_URL)
  alerts: ${webadminUrl}/alerts — alert e-mails arrive at ${mail.webUrl}   (files: ${path.relative(process.cwd(), path.join(dataDir, 'mail')) || '.'}/*.eml)
Ctrl-C stops everything; data stays in ${path.relative(process.cwd(), dataDir) || '.'}/ (delete it to start over).
`);
    const healthUrls = services.map((s) => s.server.healthUrl);
    for (const url of healthUrls) say(`  ${url}`);

    // A status line every 10 s, so the newcomer sees data arriving.
    const statusEveryMs = options.statusEveryMs ?? 10_000;
    if (statusEveryMs > 0) {
      statusTimer = setInterval(() => {
        db.query('SELECT COUNT(*) AS n, MAX(measured_at) AS last FROM sensorfleet.readings')
          .then((rows) => {
            const r = (rows as { n: number; last: Date | null }[])[0];
            say(
              `[${new Date().toISOString()}] readings stored: ${Number(r?.n ?? 0)}, latest measured at ${r?.last?.toISOString?.() ?? '—'}`,
            );
          })
          .catch(() => {});
      }, statusEveryMs);
      statusTimer.unref();
    }

    return {
      dataDir,
      webadminUrl,
      webadminHealthUrl: webadmin.healthUrl,
      adminPassword,
      databaseUrl,
      db,
      brokerUrl: broker.url,
      deviceBrokerUrl: secured!.deviceUrl,
      prometheusUrl: prometheus?.url,
      mailUrl: mail.webUrl,
      smtpUrl: mail.smtpUrl,
      deviceId: DEVICE_ID,
      fleetIds: fleetSize > 0 ? fleetIds : [],
      healthUrls,
      servers: started,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
