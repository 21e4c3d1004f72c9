import { parseEnv } from '@sensorfleet/shared';
import { MariaDbServer, MosquittoServer } from '@sensorfleet/tools/harness';
import type { Pool } from 'mariadb';
import mqtt, { type MqttClient } from 'mqtt';
import { createLogger } from '@sensorfleet/shared';
import { hashPassword } from '../../src/auth/passwords.js';
import type { Role } from '../../src/auth/roles.js';
import { UserStore } from '../../src/auth/user-store.js';
import { webadminEnv } from '../../src/config.js';
import { createWebadmin, type AlertDispatchOptions, type Webadmin } from '../../src/webadmin-service.js';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const ORIGIN = 'http://admin.test';

export interface Login {
  cookie: string;
  csrfToken: string;
  username: string;
}

/**
 * Private MariaDB and Mosquitto, and N web admin replicas built in this process (createWebadmin, the same
 * composition as main.ts) on one database: requests go in with fastify's inject, the broker is real.
 */
export class WebadminRig {
  private constructor(
    readonly db: MariaDbServer,
    readonly broker: MosquittoServer,
    readonly databaseUrl: string,
    readonly replicas: Webadmin[],
    readonly mqttClient: MqttClient,
  ) {}

  static async start(
    opts: {
      replicas?: number;
      env?: Record<string, string>;
      alertDispatch?: AlertDispatchOptions;
      pages?: boolean;
    } = {},
  ): Promise<WebadminRig> {
    const [db, broker] = await Promise.all([MariaDbServer.start(), MosquittoServer.start()]);
    const databaseUrl = await db.createDatabase();
    const config = parseEnv(webadminEnv, {
      DATABASE_URL: databaseUrl,
      MQTT_URL: broker.url,
      PUBLIC_URL: ORIGIN,
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
      COMMAND_POLL_INTERVAL: '300ms',
      LIVE_CHANGE_POLL: '200ms',
      ...opts.env,
    });
    const replicas: Webadmin[] = [];
    for (let i = 0; i < (opts.replicas ?? 1); i++) {
      // The built pages plugin (dist) finds the bundle next to it, as the service does.
      const extraPlugins = opts.pages
        ? [(await import('@sensorfleet/webadmin/pages/index')).pagesPlugin]
        : [];
      const w = await createWebadmin(
        config,
        createLogger(`webadmin-${i + 1}`, config.LOG_LEVEL, { pretty: false }),
        { alertDispatch: opts.alertDispatch, extraPlugins },
      );
      for (const c of w.components) await c.start();
      await w.app.ready();
      replicas.push(w);
    }
    const mqttClient = await mqtt.connectAsync(broker.url, {
      clientId: `rig-${Math.random().toString(36).slice(2, 8)}`,
    });
    const rig = new WebadminRig(db, broker, databaseUrl, replicas, mqttClient);
    await waitFor('broker connections', 10_000, async () => replicas.every((r) => r.broker.connected));
    await sleep(200); // subscriptions follow the connect by a round trip
    return rig;
  }

  get app() {
    return this.replicas[0]!.app;
  }

  get pool(): Pool {
    return this.replicas[0]!.pool;
  }

  async query<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
    return (await this.pool.query(sql, params)) as T[];
  }

  async addUser(username: string, role: Role, password = `pw-${username}-secret`): Promise<string> {
    await new UserStore(this.pool).add(username, await hashPassword(password), role);
    return password;
  }

  async login(username: string, password = `pw-${username}-secret`, replica = 0): Promise<Login> {
    return signIn(this.replicas[replica]!.app, username, password);
  }

  /** Headers of a browser request of this session (cookie, CSRF token, our Origin). */
  static browser(login: Login): Record<string, string> {
    return { cookie: login.cookie, 'x-csrf-token': login.csrfToken, origin: ORIGIN };
  }

  async addDevice(
    id: string,
    opts: { online?: boolean; state?: Record<string, unknown> } = {},
  ): Promise<void> {
    await this.query(
      'INSERT INTO devices (id, online, last_state, last_state_at, last_seen, first_seen) VALUES (?, ?, ?, ?, ?, ?)' +
        ' ON DUPLICATE KEY UPDATE online = VALUES(online), last_state = VALUES(last_state)',
      [
        id,
        opts.online ? 1 : 0,
        opts.state ? JSON.stringify(opts.state) : null,
        new Date(),
        new Date(),
        new Date(),
      ],
    );
  }

  async close(): Promise<void> {
    await this.mqttClient.endAsync(true).catch(() => undefined);
    for (const w of [...this.replicas].reverse()) {
      await w.app.close().catch(() => undefined);
      for (const c of [...w.components].reverse()) await c.stop().catch(() => undefined);
    }
    await Promise.allSettled([this.broker.stop(), this.db.stop()]);
  }
}

export async function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** Signs in through the API as a browser would; the session's cookie and CSRF token. */
export async function signIn(
  app: Webadmin['app'],
  username: string,
  password = `pw-${username}-secret`,
): Promise<Login> {
  const r = await app.inject({
    method: 'POST',
    url: '/api/session',
    headers: { origin: ORIGIN },
    payload: { username, password },
  });
  if (r.statusCode !== 200) throw new Error(`login of ${username} failed: ${r.statusCode} ${r.body}`);
  const cookie = String(r.headers['set-cookie']).split(';')[0]!;
  return { cookie, csrfToken: (r.json() as { csrfToken: string }).csrfToken, username };
}

/** A stand-in device on `client`: records each command id it gets and answers it as succeeded. */
export function answerCommands(client: MqttClient, deviceId: string, seen: string[]): void {
  client.on('message', (topic, payload) => {
    if (topic !== `devices/${deviceId}/commands`) return;
    const cmd = JSON.parse(payload.toString()) as { id: string };
    seen.push(cmd.id);
    void client.publishAsync(
      `devices/${deviceId}/commands/result`,
      JSON.stringify({ id: cmd.id, ok: true, result: { running: true } }),
      { qos: 1 },
    );
  });
}

/** Sends `start` to a device through the API and waits until the command has succeeded; its id. */
export async function commandAnswered(
  app: Webadmin['app'],
  login: Login,
  deviceId: string,
  timeoutMs: number,
): Promise<string> {
  const sent = await app.inject({
    method: 'POST',
    url: `/api/devices/${deviceId}/commands`,
    headers: WebadminRig.browser(login),
    payload: { command: 'start' },
  });
  if (sent.statusCode !== 202) throw new Error(`command refused: ${sent.statusCode} ${sent.body}`);
  const { id } = sent.json() as { id: string };
  await waitFor(`command ${id} answered`, timeoutMs, async () => {
    const r = await app.inject({ url: `/api/commands/${id}`, headers: { cookie: login.cookie } });
    return (r.json() as { status: string }).status === 'succeeded';
  });
  return id;
}
