import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync } from 'node:fs';
import path from 'node:path';
import { RabbitMqAccounts } from '@sensorfleet/mqttserver/provisioning/rabbitmq-accounts';
import {
  GaleraCluster,
  harnessRoot,
  httpGet,
  NodeService,
  RabbitMqCluster,
  waitFor,
  type GaleraNode,
  type RabbitMqNode,
} from '../harness/index.js';
import { Compat004Publisher } from './compat004-publisher.js';
import { DrillAudit, type DrillWindow } from './drill-audit.js';
import { DrillDevice } from './drill-device.js';
import type { SourceAudit } from './drill-verdict.js';

export interface ClusterSystemOptions {
  /** Devices (real sensor + mqtthandler + own Redis each; default 10, env DRILL_CLUSTER_DEVICES). */
  devices?: number;
  /** Measuring interval of every device (default 100 ms: 10 Hz). */
  intervalMs?: number;
  /** Messages per second of the source-004 publisher (0 = none; default 5). */
  compat004PerSecond?: number;
  logLevel?: string;
  log?: (line: string) => void;
}

/** The receivers' quorum queue (the receiver's AMQP_QUEUE default). */
export const INTAKE_QUEUE = 'sensorfleet.intake';
const COMPAT004_ID = 'esp-c004';
const RECEIVERS = ['cluster-r1', 'cluster-r2'] as const;
const RABBITMQCTL = path.join(process.env.RABBITMQ_BIN_DIR ?? '/usr/lib/rabbitmq/bin', 'rabbitmqctl');

/**
 * The scale-out deployment for the cluster drills (README "Scaling out"), from the harness: a 3-node
 * RabbitMQ cluster (MQTT plugin, session queues and the intake as quorum queues), a 3-node Galera cluster,
 * two receivers with `RECEIVER_INTAKE=amqp` competing on the intake queue and `DATABASE_URL` listing the
 * Galera nodes (they write to node 1 and fail over in list order), N devices as real processes
 * (`MQTT_URL` listing the RabbitMQ nodes from a different one each, `MQTT_CLEAN_SESSION=false`) and a
 * source-004 publisher that also lists every node. Accounts are made as `npm run device -- add` makes them
 * with `PROVISIONING_BROKER=rabbitmq`. Measuring is DrillAudit's, as for the single-machine system.
 */
export class ClusterSystem {
  readonly devices: DrillDevice[] = [];
  compat004: Compat004Publisher | undefined;
  private readonly audits: DrillAudit;

  private constructor(
    readonly dir: string,
    readonly rabbit: RabbitMqCluster,
    readonly galera: GaleraCluster,
    readonly databaseUrl: string,
    readonly receivers: NodeService[],
    private readonly accounts: RabbitMqAccounts,
    private readonly passwords: Map<string, string>,
  ) {
    this.audits = new DrillAudit({
      query: (sql, params) => this.dbNode().query(sql, params),
      devices: () => this.devices,
      compat004: () => this.compat004,
    });
  }

  static async start(options: ClusterSystemOptions = {}): Promise<ClusterSystem> {
    const opts = {
      devices: options.devices ?? 10,
      intervalMs: options.intervalMs ?? 100,
      compat004PerSecond: options.compat004PerSecond ?? 5,
      logLevel: options.logLevel ?? 'warn',
      log: options.log ?? (() => {}),
    };
    const dir = mkdtempSync(path.join(harnessRoot(), 'cluster-drill-'));
    mkdirSync(dir, { recursive: true });
    opts.log('  starting 3 RabbitMQ nodes and 3 Galera nodes…');
    const [rabbit, galera] = await Promise.allSettled([
      RabbitMqCluster.start({ nodes: 3 }),
      GaleraCluster.start({ nodes: 3 }),
    ]);
    if (rabbit.status === 'rejected' || galera.status === 'rejected') {
      if (rabbit.status === 'fulfilled') await rabbit.value.destroy().catch(() => undefined);
      if (galera.status === 'fulfilled') await galera.value.destroy().catch(() => undefined);
      throw rabbit.status === 'rejected' ? rabbit.reason : (galera as PromiseRejectedResult).reason;
    }
    const system = new ClusterSystem(
      dir,
      rabbit.value,
      galera.value,
      await galera.value.createDatabase('sensorfleet'),
      [],
      new RabbitMqAccounts({
        command: [RABBITMQCTL],
        node: rabbit.value.nodes[0]!.nodeName,
        env: rabbit.value.nodes[0]!.env,
      }),
      new Map(),
    );
    try {
      for (const [i, id] of RECEIVERS.entries()) {
        system.receivers.push(await system.startReceiver(id, i, opts.logLevel));
        // The first replica declares the queue and runs the migrations before the second one starts.
        await system.waitReceiverHealthy(i);
      }
      opts.log(`  starting ${opts.devices} devices…`);
      const nodes = rabbit.value.nodes;
      for (let i = 0; i < opts.devices; i++) {
        const id = `cdrill-${i + 1}`;
        const order = [...nodes.slice(i % nodes.length), ...nodes.slice(0, i % nodes.length)];
        const device = await DrillDevice.start({
          id,
          dir: path.join(dir, 'devices', id),
          password: await system.account(id),
          brokerUrl: order.map((n) => n.mqttUrl).join(','),
          appendfsync: 'everysec',
          intervalMs: opts.intervalMs,
          logLevel: opts.logLevel,
          mqtthandlerEnv: {
            // A persistent session in a quorum queue: it survives the loss of the device's node.
            MQTT_CLEAN_SESSION: 'false',
            MQTT_RECONNECT_MAX_MS: '1000',
            MQTT_BATCH_MAX_WAIT_MS: '50',
          },
        });
        system.devices.push(device);
      }
      if (opts.compat004PerSecond > 0) {
        system.compat004 = await Compat004Publisher.start(
          COMPAT004_ID,
          rabbit.value.mqttUrls,
          await system.account(COMPAT004_ID),
        );
        system.compat004.run(opts.compat004PerSecond);
      }
      return system;
    } catch (err) {
      await system.stop();
      throw err;
    }
  }

  /** A broker account (made on first use) for a device, a receiver or the 004 publisher. */
  private async account(user: string): Promise<string> {
    let password = this.passwords.get(user);
    if (password === undefined) {
      password = randomBytes(12).toString('hex');
      await this.accounts.set(user, password, { mustBeNew: true });
      this.passwords.set(user, password);
    }
    return password;
  }

  private async startReceiver(id: string, i: number, logLevel: string): Promise<NodeService> {
    const password = await this.account('receiver');
    // Each replica lists the nodes from a different one, so they spread over the cluster.
    const nodes = [...this.rabbit.nodes.slice(i), ...this.rabbit.nodes.slice(0, i)];
    return NodeService.start('backend/receiver', {
      dir: path.join(this.dir, id),
      label: id,
      env: {
        LOG_LEVEL: logLevel,
        DATABASE_URL: this.databaseUrl,
        RECEIVER_INTAKE: 'amqp',
        AMQP_URL: nodes.map((n) => `amqp://receiver:${password}@127.0.0.1:${n.port}`).join(','),
        AMQP_PREFETCH: '500',
        RECEIVER_REPLICA_ID: id,
        RECEIVER_RECONNECT_MIN_MS: '200',
        RECEIVER_RECONNECT_MAX_MS: '2000',
        INGEST_MAX_WAIT_MS: '20',
      },
    });
  }

  async waitReceiverHealthy(i: number, timeoutMs = 120_000): Promise<void> {
    const r = this.receivers[i]!;
    await waitFor(`receiver ${i + 1} healthy`, timeoutMs, async () => {
      const { status, body } = await httpGet(r.healthUrl).catch(() => ({ status: 0, body: 'down' }));
      return status === 200 ? true : body;
    });
  }

  /** Where the audit reads: the last running Galera node (the receivers write to the first). */
  private dbNode(): GaleraNode {
    const node = [...this.galera.nodes].reverse().find((n) => n.running);
    if (!node) throw new Error('no Galera node is running');
    return node;
  }

  /** The Galera node the receivers write to: the first running one of their DATABASE_URL list. */
  writtenNode(): GaleraNode {
    const node = this.galera.nodes.find((n) => n.running);
    if (!node) throw new Error('no Galera node is running');
    return node;
  }

  /** The RabbitMQ node an MQTT client id is connected to (from the local port of its connection). */
  async mqttNodeOf(clientId: string): Promise<RabbitMqNode | undefined> {
    const out = await this.rabbit.ctl([
      'list_mqtt_connections',
      'client_id',
      'conn_name',
      '--formatter',
      'json',
    ]);
    const rows = JSON.parse(out) as { client_id?: string; conn_name?: string }[];
    const conn = rows.find((r) => r.client_id === clientId)?.conn_name ?? '';
    const port = Number(/:(\d+)\s*$/.exec(conn)?.[1] ?? NaN);
    return this.rabbit.nodes.find((n) => n.mqttPort === port);
  }

  /** Highest seq stored for a device (or 004 source): to see when a reading after a fault is stored. */
  async maxStoredSeq(deviceId: string): Promise<number> {
    const [r] = (await this.dbNode().query(
      'SELECT COALESCE(MAX(seq), 0) AS m FROM sensorfleet.readings WHERE device_id = ?',
      [deviceId],
    )) as { m: number | bigint | string }[];
    return Number(r?.m ?? 0);
  }

  // ── measuring (drill-audit.ts) ─────────────────────────────────────────────────────────────────

  openWindow(opts: { deviceIds?: string[]; with004?: boolean } = {}): Promise<DrillWindow> {
    return this.audits.openWindow(opts);
  }

  closeWindow(window: DrillWindow): Promise<void> {
    return this.audits.closeWindow(window);
  }

  waitForDrain(sinceMs: number, window?: DrillWindow, timeoutMs?: number): Promise<number> {
    return this.audits.waitForDrain(sinceMs, window, timeoutMs);
  }

  maxLiveLatencyMs(fromMs: number, toMs: number): Promise<number | null> {
    return this.audits.maxLiveLatencyMs(fromMs, toMs);
  }

  audit(window: DrillWindow, settleMs?: number): Promise<SourceAudit[]> {
    return this.audits.audit(window, settleMs);
  }

  /** Stops every process and both clusters. */
  async stop(): Promise<void> {
    await this.compat004?.close().catch(() => undefined);
    await Promise.allSettled(this.devices.map((d) => d.stop()));
    await Promise.allSettled(this.receivers.map((r) => r.stop()));
    await Promise.allSettled([this.rabbit.destroy(), this.galera.destroy()]);
  }
}
