import { createServer } from 'node:net';
import path from 'node:path';
import {
  MariaDbServer,
  NodeService,
  RedisServer,
  REPO_ROOT,
  SecuredBroker,
  type ManagedServer,
} from '../harness/index.js';

/**
 * `npm start`: the whole system on this machine, no Docker. Private Redis, Mosquitto and MariaDB keep
 * their data under .data/ (delete it to start from scratch); the receiver and SIM_DEVICES simulated
 * devices (sensor + mqtthandler each, sharing the one Redis under different key prefixes) run as real
 * processes with the same env a container would get. Ctrl-C stops everything in reverse order.
 */
const dataDir = path.resolve(process.env.SENSORFLEET_DATA_DIR ?? path.join(REPO_ROOT, '.data'));
const devices = Math.max(1, Math.min(50, Number(process.env.SIM_DEVICES ?? 1) || 1));
const intervalMs = Math.max(100, Number(process.env.SENSOR_INTERVAL_MS ?? 1000) || 1000);
const logLevel = process.env.LOG_LEVEL ?? 'info';

const started: ManagedServer[] = [];
const say = (msg: string) => process.stdout.write(`${msg}\n`);

/** The preferred port if free (stable commands to copy), else any free port. */
async function portOr(preferred: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(undefined));
    s.listen(preferred, '127.0.0.1', () => s.close(() => resolve(preferred)));
  });
}

async function startServer<T extends ManagedServer>(what: string, make: () => Promise<T>): Promise<T> {
  const server = await make();
  started.push(server);
  say(
    `  ${what.padEnd(12)} 127.0.0.1:${server.port}   data: ${path.relative(process.cwd(), server.dir) || '.'}`,
  );
  return server;
}

let stopping = false;
async function stopAll(code: number): Promise<never> {
  if (stopping) process.exit(code);
  stopping = true;
  say('\nstopping…');
  for (const s of [...started].reverse()) await s.stop().catch(() => {});
  say('stopped. Data is kept in ' + dataDir);
  process.exit(code);
}
process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));

try {
  say(`sensorfleet local stack (data in ${dataDir})`);
  const redis = await startServer('redis', async () =>
    RedisServer.start({ dir: path.join(dataDir, 'redis'), port: await portOr(16379) }),
  );
  // The broker runs the shipped secured config (no anonymous access, per-device ACL); every service and
  // simulated device gets its own account, as in production. Passwords are new at every start.
  let secured: SecuredBroker | undefined;
  const broker = await startServer('mosquitto', async () => {
    secured = await SecuredBroker.start({ dir: path.join(dataDir, 'mosquitto'), port: await portOr(11883) });
    return secured.server;
  });
  const account = async (user: string) => ({
    MQTT_USERNAME: user,
    MQTT_PASSWORD: await secured!.setAccount(user),
  });
  const watcher = await account('webadmin');
  const db = await startServer('mariadb', async () =>
    MariaDbServer.start({ dir: path.join(dataDir, 'mariadb'), port: await portOr(13306) }),
  );
  await db.query(
    'CREATE DATABASE IF NOT EXISTS sensorfleet CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci',
  );
  const databaseUrl = db.databaseUrl('sensorfleet');
  const common = { LOG_LEVEL: logLevel, MQTT_URL: broker.url };
  const receiverAccount = await account('receiver');
  const svcDir = (name: string) => path.join(dataDir, 'services', name);

  await startServer('receiver', async () =>
    NodeService.start('backend/receiver', {
      dir: svcDir('receiver'),
      env: { ...common, ...receiverAccount, DATABASE_URL: databaseUrl },
    }),
  );
  const ids: string[] = [];
  for (let i = 1; i <= devices; i++) {
    const id = `sim-${String(i).padStart(3, '0')}`;
    ids.push(id);
    const deviceEnv = {
      ...common,
      ...(await account(id)),
      DEVICE_ID: id,
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: `${id}:`,
    };
    await startServer(`${id} sensor`, async () =>
      NodeService.start('device/sensor', {
        dir: svcDir(`${id}-sensor`),
        label: `${id}-sensor`,
        env: {
          ...deviceEnv,
          SENSOR_DRIVER: 'simulated',
          SENSOR_INTERVAL_MS: String(intervalMs),
          SENSOR_SEED: String(i),
        },
      }),
    );
    await startServer(`${id} link`, async () =>
      NodeService.start('device/mqtthandler', {
        dir: svcDir(`${id}-mqtthandler`),
        label: `${id}-mqtthandler`,
        env: deviceEnv,
      }),
    );
  }

  say(`
Running: ${devices} simulated device(s) measuring every ${intervalMs} ms → MQTT → receiver → MariaDB.

Look at the data:
  mariadb -h 127.0.0.1 -P ${db.port} -u root sensorfleet -e "SELECT device_id, sensor, COUNT(*), MAX(measured_at) FROM readings GROUP BY 1, 2"
  mosquitto_sub -h 127.0.0.1 -p ${broker.port} -u webadmin -P '${watcher.MQTT_PASSWORD}' -t 'devices/#' -v
  redis-cli -p ${redis.port} XLEN ${ids[0]}:outbox        (the device outbox: readings not yet acknowledged)
Steer a device (same as the button):
  mosquitto_pub -h 127.0.0.1 -p ${broker.port} -u webadmin -P '${watcher.MQTT_PASSWORD}' -t devices/${ids[0]}/commands -m '{"id":"c1","command":"stop"}'
The broker refuses anonymous clients. Provision a real device against this stack with
  MOSQUITTO_PASSWORD_FILE=${secured!.passwordFile} MOSQUITTO_PID_FILE=${secured!.pidFile} \\
  DATABASE_URL=${databaseUrl} PUBLIC_MQTT_URL=${broker.url} npm run device -- add <id>   (servers listen on 127.0.0.1 only)
Health and Prometheus metrics: every service's /health and /metrics (ports in .data/services/*/ logs and below).
Logs: .data/services/<name>/*.out.log
The web admin is not part of this build yet (see README "Known limits").
Ctrl-C stops everything; data stays in .data/ (delete it to start over).
`);
  for (const s of started) if (s instanceof NodeService) say(`  ${s.healthUrl}`);

  // A status line every 10 s, so the newcomer sees data arriving.
  const timer = setInterval(() => {
    db.query('SELECT COUNT(*) AS n, MAX(measured_at) AS last FROM sensorfleet.readings')
      .then((rows) => {
        const r = (rows as { n: number; last: Date | null }[])[0];
        say(
          `[${new Date().toISOString()}] readings stored: ${Number(r?.n ?? 0)}, latest measured at ${r?.last?.toISOString?.() ?? '—'}`,
        );
      })
      .catch(() => {});
  }, 10_000);
  timer.unref();
  // Keep running until a signal arrives.
  setInterval(() => {}, 1 << 30);
} catch (err) {
  process.stderr.write(`local stack failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  await stopAll(1);
}
