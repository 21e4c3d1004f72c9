import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';
import {
  freePort,
  harnessRoot,
  httpGet,
  MariaDbServer,
  NetworkNamespace,
  NodeService,
  REPO_ROOT,
  SecuredBroker,
  sleep,
  waitFor,
} from '../harness/index.js';
import { startMailCatcher, type MailCatcher } from '../local-stack/mail-catcher.js';
import { Compat004Publisher } from './compat004-publisher.js';
import { DrillDevice, type DeviceCounters } from './drill-device.js';
import { missingSeqs, type SourceAudit } from './drill-verdict.js';

export interface DrillSystemOptions {
  /** Devices started with the system (default 4, env DRILL_DEVICES). */
  devices?: number;
  /** Measuring interval of every device (default 100 ms: 10 Hz). */
  intervalMs?: number;
  /** Messages per second of the source-004 publisher (0 = none; default 5). */
  compat004PerSecond?: number;
  /** Where every server keeps its data and logs; default a temp dir under the harness run root. */
  dir?: string;
  logLevel?: string;
  log?: (line: string) => void;
  /**
   * Make a network namespace for a device inside it (drill 6): the broker's device listener also
   * listens on the namespace's host-side address. Needs root.
   */
  networkNamespace?: boolean;
}

/** Extra settings of one device: the extension point for drills that run a device elsewhere. */
export interface DrillDeviceExtras {
  appendfsync?: 'always' | 'everysec';
  /** Command prefix of its processes, e.g. `['ip', 'netns', 'exec', 'ns1']`. */
  wrap?: string[];
  /** Broker URL the device uses instead of the device listener on 127.0.0.1 (e.g. from a netns). */
  brokerUrl?: string;
  sensorEnv?: Record<string, string>;
  mqtthandlerEnv?: Record<string, string>;
  /** Address the harness reaches the device's processes at (with `wrap`, e.g. a namespace's nsAddress). */
  host?: string;
  /** The mqtthandler with the shipped keepalive, reconnect backoff and ack timeout, not the drill's short ones. */
  shippedMqttDefaults?: boolean;
}

interface Mark {
  counters: Map<string, DeviceCounters>;
  sent004: number;
}

/** A drill's window: what every source had produced and counted at its start and its end. */
export interface DrillWindow {
  /** The native devices audited (default all). */
  deviceIds: string[];
  with004: boolean;
  start: Mark;
  end?: Mark;
}

export const RECEIVER_IDS = ['drill-r1', 'drill-r2'] as const;
const COMPAT004_ID = 'esp-004';

/**
 * The whole system for the fault drills, from the harness: Mosquitto with the shipped secured config and
 * an account per service and device, MariaDB, two receiver replicas (each its own RECEIVER_REPLICA_ID),
 * the web admin (an `admin` with an API token) sending alert mail to a local SMTP catcher, N devices as
 * real processes (own Redis, sensor at 10 Hz, mqtthandler) and one source-004 publisher. Drills kill and
 * restart its parts and ask it what the devices produced against what MariaDB stored.
 */
export class DrillSystem {
  readonly devices: DrillDevice[] = [];
  compat004: Compat004Publisher | undefined;
  private token = '';
  private passwords = new Map<string, string>();

  private constructor(
    readonly dir: string,
    readonly broker: SecuredBroker,
    readonly db: MariaDbServer,
    readonly databaseUrl: string,
    readonly receivers: NodeService[],
    readonly webadmin: NodeService,
    readonly webadminUrl: string,
    readonly mail: MailCatcher,
    readonly mailDir: string,
    private readonly opts: Required<Omit<DrillSystemOptions, 'dir' | 'networkNamespace'>>,
    /** The namespace for a device inside it, when started with `networkNamespace`. */
    readonly netns: NetworkNamespace | undefined,
  ) {}

  static async start(options: DrillSystemOptions = {}): Promise<DrillSystem> {
    const opts = {
      devices: options.devices ?? 4,
      intervalMs: options.intervalMs ?? 100,
      compat004PerSecond: options.compat004PerSecond ?? 5,
      logLevel: options.logLevel ?? 'warn',
      log: options.log ?? (() => {}),
    };
    const dir = options.dir ?? mkdtempSync(path.join(harnessRoot(), 'drill-'));
    mkdirSync(dir, { recursive: true });
    const started: { stop(): Promise<void> }[] = [];
    try {
      const netns = options.networkNamespace ? await NetworkNamespace.create() : undefined;
      if (netns) started.push({ stop: () => netns.destroy() });
      const broker = await SecuredBroker.start({
        dir: path.join(dir, 'mosquitto'),
        ...(netns ? { deviceAlsoOn: [netns.hostAddress] } : {}),
      });
      started.push(broker.server);
      const deviceIds = Array.from({ length: opts.devices }, (_, i) => `drill-${i + 1}`);
      const passwords = await broker.setAccounts(['webadmin', 'receiver', COMPAT004_ID, ...deviceIds]);
      const account = (user: string) => ({ MQTT_USERNAME: user, MQTT_PASSWORD: passwords.get(user)! });
      const db = await MariaDbServer.start({ dir: path.join(dir, 'mariadb') });
      started.push(db);
      await db.query(
        'CREATE DATABASE IF NOT EXISTS sensorfleet CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci',
      );
      const databaseUrl = db.databaseUrl('sensorfleet');
      const common = { LOG_LEVEL: opts.logLevel, MQTT_URL: broker.url, DATABASE_URL: databaseUrl };
      const receivers: NodeService[] = [];
      for (const id of RECEIVER_IDS) {
        const r = await NodeService.start('backend/receiver', {
          dir: path.join(dir, id),
          label: id,
          env: { ...common, ...account('receiver'), RECEIVER_REPLICA_ID: id },
        });
        receivers.push(r);
        started.push(r);
      }
      const mailDir = path.join(dir, 'mail');
      const mail = await startMailCatcher({ dir: mailDir, smtpPort: 0, httpPort: 0 });
      started.push(mail);
      const httpPort = await freePort();
      const webadminUrl = `http://127.0.0.1:${httpPort}`;
      const webadmin = await NodeService.start('backend/webadmin', {
        dir: path.join(dir, 'webadmin'),
        env: {
          ...common,
          ...account('webadmin'),
          HTTP_PORT: String(httpPort),
          HTTP_HOST: '127.0.0.1',
          PUBLIC_URL: webadminUrl,
          SMTP_URL: mail.smtpUrl,
          ALERT_MAIL_FROM: 'sensorfleet <alerts@sensorfleet.local>',
          ALERT_EVAL_INTERVAL_MS: '1000',
        },
      });
      started.push(webadmin);
      const system = new DrillSystem(
        dir,
        broker,
        db,
        databaseUrl,
        receivers,
        webadmin,
        webadminUrl,
        mail,
        mailDir,
        opts,
        netns,
      );
      system.passwords = passwords;
      await system.waitWebadminHealthy();
      system.token = system.adminToken();
      for (const [i, id] of deviceIds.entries()) {
        // Every other device with appendfsync always, so drill 5 has both kinds.
        await system.addDevice(id, { appendfsync: i % 2 === 0 ? 'always' : 'everysec' });
      }
      if (opts.compat004PerSecond > 0) {
        system.compat004 = await Compat004Publisher.start(
          COMPAT004_ID,
          broker.deviceUrl,
          passwords.get(COMPAT004_ID)!,
        );
        system.compat004.run(opts.compat004PerSecond);
      }
      return system;
    } catch (err) {
      for (const s of started.reverse()) await s.stop().catch(() => undefined);
      throw err;
    }
  }

  get intervalMs(): number {
    return this.opts.intervalMs;
  }

  /** Starts another device (own account, Redis, sensor, mqtthandler). */
  async addDevice(id: string, extras: DrillDeviceExtras = {}): Promise<DrillDevice> {
    if (!this.passwords.has(id)) this.passwords.set(id, await this.broker.setAccount(id));
    const device = await DrillDevice.start({
      id,
      dir: path.join(this.dir, 'devices', id),
      password: this.passwords.get(id)!,
      brokerUrl: extras.brokerUrl ?? this.broker.deviceUrl,
      appendfsync: extras.appendfsync ?? 'everysec',
      intervalMs: this.opts.intervalMs,
      logLevel: this.opts.logLevel,
      ...(extras.wrap ? { wrap: extras.wrap } : {}),
      ...(extras.host ? { host: extras.host } : {}),
      ...(extras.shippedMqttDefaults ? { shippedMqttDefaults: true } : {}),
      ...(extras.sensorEnv ? { sensorEnv: extras.sensorEnv } : {}),
      ...(extras.mqtthandlerEnv ? { mqtthandlerEnv: extras.mqtthandlerEnv } : {}),
    });
    this.devices.push(device);
    return device;
  }

  /** Stops a device and leaves it out of every later drill. */
  async removeDevice(id: string): Promise<void> {
    const i = this.devices.findIndex((d) => d.id === id);
    if (i < 0) return;
    const [device] = this.devices.splice(i, 1);
    await device!.stop();
  }

  /** Messages a receiver replica has taken (its sensorfleet_messages_total, every kind). */
  async receiverMessages(replica: number): Promise<number> {
    const r = this.receivers[replica]!;
    if (!r.running) return 0;
    const { body } = await httpGet(`http://127.0.0.1:${r.port}/metrics`).catch(() => ({ body: '' }));
    return body
      .split('\n')
      .filter((l) => l.startsWith('sensorfleet_messages_total'))
      .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
  }

  /** MQTT credentials of an account (service or device) for clients of the drills. */
  account(user: string): { username: string; password: string } {
    const password = this.passwords.get(user);
    if (password === undefined) throw new Error(`no broker account ${user}`);
    return { username: user, password };
  }

  device(id: string): DrillDevice {
    const d = this.devices.find((x) => x.id === id);
    if (!d) throw new Error(`no device ${id}`);
    return d;
  }

  // ── web admin ────────────────────────────────────────────────────────────────────────────────────

  async waitWebadminHealthy(timeoutMs = 60_000): Promise<void> {
    await waitFor('web admin healthy', timeoutMs, () =>
      httpGet(this.webadmin.healthUrl).then(
        (r) => r.status === 200,
        () => false,
      ),
    );
  }

  /** The admin account and its API token, made with the web admin's own CLI as an operator would. */
  private adminToken(): string {
    const cli = path.join(REPO_ROOT, 'backend/webadmin/dist/cli/user.js');
    const env = { PATH: process.env.PATH, DATABASE_URL: this.databaseUrl };
    const run = (args: string[]) =>
      execFileSync(process.execPath, [cli, ...args], {
        env,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim();
    run(['add', 'admin', '--role', 'admin', '--generate']);
    return run(['token', 'admin', '--label', 'drill']).split('\n').at(-1)!.trim();
  }

  /** One web admin API call with the admin's token; resolves status and parsed body. */
  api(method: string, route: string, body?: unknown): Promise<{ status: number; body: unknown }> {
    const data = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        `${this.webadminUrl}${route}`,
        {
          method,
          timeout: 10_000,
          headers: {
            authorization: `Bearer ${this.token}`,
            ...(data ? { 'content-type': 'application/json' } : {}),
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => {
            let parsed: unknown = text;
            try {
              parsed = JSON.parse(text);
            } catch {
              // not JSON: keep the text
            }
            resolve({ status: res.statusCode ?? 0, body: parsed });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', reject);
      req.end(data);
    });
  }

  /** Mails the catcher holds: subject and the notification id header of each. */
  mails(): { subject: string; notification: string }[] {
    let files: string[] = [];
    try {
      files = readdirSync(this.mailDir).filter((f) => f.endsWith('.eml'));
    } catch {
      return [];
    }
    return files.map((f) => {
      const text = readFileSync(path.join(this.mailDir, f), 'utf8');
      const head = text.split(/\r?\n\r?\n/)[0] ?? '';
      const header = (name: string) =>
        new RegExp(`^${name}:[ \\t]*(.*(?:\\r?\\n[ \\t].*)*)`, 'im').exec(head)?.[1]?.replace(/\s+/g, ' ') ??
        '';
      return { subject: header('Subject'), notification: header('X-Sensorfleet-Notification') };
    });
  }

  // ── measuring ────────────────────────────────────────────────────────────────────────────────────

  private async mark(ids: string[]): Promise<Mark> {
    const counters = new Map<string, DeviceCounters>();
    await Promise.all(ids.map(async (id) => counters.set(id, await this.device(id).counters())));
    return { counters, sent004: this.compat004?.sent ?? 0 };
  }

  /** Opens a drill's window: from now on, what the sources produce must reach MariaDB. */
  async openWindow(opts: { deviceIds?: string[]; with004?: boolean } = {}): Promise<DrillWindow> {
    const deviceIds = opts.deviceIds ?? this.devices.map((d) => d.id);
    const with004 = (opts.with004 ?? true) && this.compat004 !== undefined;
    return { deviceIds, with004, start: await this.mark(deviceIds) };
  }

  async closeWindow(window: DrillWindow): Promise<void> {
    window.end = await this.mark(window.deviceIds);
  }

  private async storedSeqs(deviceId: string, from: number, to: number): Promise<number[]> {
    const rows = (await this.db.query(
      `SELECT DISTINCT seq FROM sensorfleet.readings WHERE device_id = ? AND seq > ? AND seq <= ?`,
      [deviceId, from, to],
    )) as { seq: number | bigint }[];
    return rows.map((r) => Number(r.seq));
  }

  /** Rows beyond one per (seq, sensor): would find a double insert if the key ever allowed one. */
  private async duplicateRows(deviceId: string, from: number, to: number): Promise<number> {
    const [r] = (await this.db.query(
      `SELECT COUNT(*) - COUNT(DISTINCT seq, sensor) AS d FROM sensorfleet.readings
        WHERE device_id = ? AND seq > ? AND seq <= ?`,
      [deviceId, from, to],
    )) as { d: number | bigint }[];
    return Number(r?.d ?? 0);
  }

  /**
   * Waits until every device's backlog is empty (nothing older than 2 s left in an outbox: the live
   * reading in flight is not backlog) and the 004 publisher's window is stored; returns ms since `sinceMs`.
   */
  async waitForDrain(sinceMs: number, window?: DrillWindow, timeoutMs = 600_000): Promise<number> {
    let drainedAt = 0;
    await waitFor(
      'every outbox drained',
      timeoutMs,
      async () => {
        const now = Date.now();
        const all = await Promise.all(this.devices.map((d) => d.counters().catch(() => undefined)));
        const busy = all.filter(
          (c, i) =>
            c === undefined ||
            (c.backlog > 0 && now + this.devices[i]!.clockOffsetMs - Date.parse(c.oldestTs ?? '') > 2000),
        ).length;
        if (busy > 0) return `${busy} device(s) still have a backlog`;
        if (window?.with004 && window.end) {
          const want = window.end.sent004 - window.start.sent004;
          const got = await this.stored004(window).catch(() => -1);
          if (got < want) return `004: ${got}/${want} stored`;
        }
        drainedAt = now;
        return true;
      },
      200,
    );
    return drainedAt - sinceMs;
  }

  private async stored004(window: DrillWindow): Promise<number> {
    const p = this.compat004!;
    const [r] = (await this.db.query(
      `SELECT COUNT(DISTINCT seq) AS n FROM sensorfleet.readings WHERE device_id = ? AND seq >= ? AND seq < ?`,
      [p.id, p.seqOf(window.start.sent004), p.seqOf(window.end!.sent004)],
    )) as { n: number | bigint }[];
    return Number(r?.n ?? 0);
  }

  /**
   * Largest measured → committed latency (received_at is set by the insert) of native readings measured
   * between `fromMs` and `toMs`: how live data fared while the backlog was replayed.
   */
  async maxLiveLatencyMs(fromMs: number, toMs: number): Promise<number | null> {
    const ids = this.devices.map((d) => d.id);
    const [r] = (await this.db.query(
      `SELECT MAX(TIMESTAMPDIFF(MICROSECOND, measured_at, received_at)) / 1000 AS l FROM sensorfleet.readings
        WHERE device_id IN (${ids.map(() => '?').join(',')}) AND sensor = 'temperature'
          AND measured_at >= ? AND measured_at <= ?`,
      [...ids, new Date(fromMs), new Date(toMs)],
    )) as { l: number | string | null }[];
    return r?.l === null || r?.l === undefined ? null : Math.round(Number(r.l));
  }

  /**
   * Per source in the window: produced (the device's seq counter; messages the broker PUBACKed for 004),
   * stored distinct seqs, duplicate rows, the first missing seqs and the loss the device counted. Waits
   * (up to `settleMs`) until everything in the window left the outboxes and the stored count is stable.
   */
  async audit(window: DrillWindow, settleMs = 120_000): Promise<SourceAudit[]> {
    if (!window.end) await this.closeWindow(window);
    const end = window.end!;
    // Everything of the window acked (gone from the outbox), the 004 window stored or its count still
    // for 5 s (those devices never resend: what is missing then stays missing); then two equal counts.
    let last004 = -1;
    let last004At = Date.now();
    await waitFor(
      "the window's readings acknowledged",
      settleMs,
      async () => {
        for (const id of window.deviceIds) {
          const c = await this.device(id).counters();
          const last = end.counters.get(id)!.lastSeq;
          if (c.backlog > 0 && c.oldestSeq !== undefined && c.oldestSeq <= last)
            return `${id}: seq ${c.oldestSeq} not acknowledged yet`;
        }
        if (window.with004) {
          const want = end.sent004 - window.start.sent004;
          const got = await this.stored004(window);
          if (got !== last004) [last004, last004At] = [got, Date.now()];
          if (got < want && Date.now() - last004At < 5000) return `004: ${got}/${want} stored`;
        }
        return true;
      },
      250,
    ).catch(() => undefined); // what is still missing then is reported as lost
    let previous = '';
    let audits: SourceAudit[] = [];
    for (let i = 0; i < 20; i++) {
      audits = await this.auditOnce(window);
      const key = JSON.stringify(audits.map((a) => a.stored));
      if (key === previous) break;
      previous = key;
      await sleep(1000);
    }
    return audits;
  }

  private async auditOnce(window: DrillWindow): Promise<SourceAudit[]> {
    const end = window.end!;
    const out: SourceAudit[] = [];
    for (const id of window.deviceIds) {
      const a = window.start.counters.get(id)!;
      const b = end.counters.get(id)!;
      const seqs = await this.storedSeqs(id, a.lastSeq, b.lastSeq);
      out.push({
        source: id,
        produced: b.lastSeq - a.lastSeq,
        stored: seqs.length,
        duplicated: await this.duplicateRows(id, a.lastSeq, b.lastSeq),
        missing: missingSeqs(a.lastSeq, b.lastSeq, seqs),
        countedLoss: b.dropped - a.dropped + (b.redisLostAppends - a.redisLostAppends),
      });
    }
    if (window.with004 && this.compat004) {
      const p = this.compat004;
      const from = p.seqOf(window.start.sent004);
      const to = p.seqOf(end.sent004);
      const rows = (await this.db.query(
        `SELECT DISTINCT seq FROM sensorfleet.readings WHERE device_id = ? AND seq >= ? AND seq < ?`,
        [p.id, from, to],
      )) as { seq: number | bigint }[];
      const have = new Set(rows.map((r) => Number(r.seq)));
      const missing: number[] = [];
      for (let i = window.start.sent004; i < end.sent004 && missing.length < 1000; i++)
        if (!have.has(p.seqOf(i))) missing.push(p.seqOf(i));
      out.push({
        source: `${p.id} (004)`,
        produced: end.sent004 - window.start.sent004,
        stored: have.size,
        duplicated: await this.duplicateRows(p.id, from - 1, to - 1),
        missing,
        countedLoss: 0,
        compat004: true,
      });
    }
    return out;
  }

  /** Stops every process, in reverse start order. */
  async stop(): Promise<void> {
    await this.compat004?.close().catch(() => undefined);
    await Promise.allSettled(this.devices.map((d) => d.stop()));
    await this.webadmin.stop().catch(() => undefined);
    await this.mail.stop().catch(() => undefined);
    await Promise.allSettled(this.receivers.map((r) => r.stop()));
    await this.db.stop().catch(() => undefined);
    await this.broker.server.stop().catch(() => undefined);
    await this.netns?.destroy().catch(() => undefined);
  }
}
