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
  waitFor,
} from '../harness/index.js';
import { startMailCatcher, type MailCatcher } from '../local-stack/mail-catcher.js';
import { Compat004Publisher } from './compat004-publisher.js';
import { DrillAudit, type DrillWindow } from './drill-audit.js';
import { DrillDevice } from './drill-device.js';
import type { SourceAudit } from './drill-verdict.js';

export type { DrillWindow } from './drill-audit.js';

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
  /** Its Redis under the power-cut shim (drill 5). */
  powerCut?: boolean;
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
  private auditor: DrillAudit | undefined;

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
        // Every other device with appendfsync always, so every drill runs on both policies (drill 5 adds
        // its own devices, under the power-cut shim).
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
      ...(extras.powerCut ? { powerCut: true } : {}),
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

  // ── measuring (drill-audit.ts) ─────────────────────────────────────────────────────────────────

  private get audits(): DrillAudit {
    return (this.auditor ??= new DrillAudit({
      query: (sql, params) => this.db.query(sql, params),
      devices: () => this.devices,
      compat004: () => this.compat004,
    }));
  }

  /** Opens a drill's window: from now on, what the sources produce must reach MariaDB. */
  openWindow(opts: { deviceIds?: string[]; with004?: boolean } = {}): Promise<DrillWindow> {
    return this.audits.openWindow(opts);
  }

  closeWindow(window: DrillWindow): Promise<void> {
    return this.audits.closeWindow(window);
  }

  /** Every device's backlog empty and the 004 window stored; ms since `sinceMs` (DrillAudit). */
  waitForDrain(sinceMs: number, window?: DrillWindow, timeoutMs?: number): Promise<number> {
    return this.audits.waitForDrain(sinceMs, window, timeoutMs);
  }

  maxLiveLatencyMs(fromMs: number, toMs: number): Promise<number | null> {
    return this.audits.maxLiveLatencyMs(fromMs, toMs);
  }

  /** Per source in the window: produced, stored, duplicated, missing, counted loss (DrillAudit). */
  audit(window: DrillWindow, settleMs?: number): Promise<SourceAudit[]> {
    return this.audits.audit(window, settleMs);
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
