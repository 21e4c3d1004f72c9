import { Redis } from 'ioredis';
import mqtt, { type MqttClient } from 'mqtt';
import { deviceKeys, MeasuringStateStore, OutboxStore, topics, type DeviceKeys } from '@sensorfleet/shared';
import { MariaDbServer } from './mariadb.js';
import { MosquittoServer } from './mosquitto.js';
import { httpGet, NodeService } from './node-service.js';
import { RedisServer } from './redis.js';
import { sleep, waitFor } from './wait-for.js';

/**
 * A whole device as real processes — Redis (AOF), the sensor (simulated driver) and the mqtthandler — with
 * a broker and, when asked for, the backend (receiver + MariaDB). Every part can be killed and restarted.
 */
export interface DeviceRigOptions {
  deviceId?: string;
  appendfsync?: 'always' | 'everysec';
  /** Redis under the power-cut shim: redisServer.powerCut() loses the AOF writes not yet fsynced. */
  powerCut?: boolean;
  /** Start MariaDB and a receiver (default true). */
  backend?: boolean;
  /** Env of the sensor process on top of the defaults; false = no sensor process. */
  sensor?: Record<string, string> | false;
  /** Env of the mqtthandler on top of the defaults; false = no mqtthandler process. */
  mqtthandler?: Record<string, string> | false;
  /** Lines appended to the broker's mosquitto.conf (e.g. an `acl_file`). */
  brokerConfig?: string;
}

const quiet = () => ({ LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn' });

export class DeviceRig {
  readonly keys: DeviceKeys;
  readonly outbox: OutboxStore;
  readonly measuring: MeasuringStateStore;
  sensor: NodeService | undefined;
  mqtthandler: NodeService | undefined;

  private constructor(
    readonly deviceId: string,
    readonly redisServer: RedisServer,
    readonly broker: MosquittoServer,
    readonly db: MariaDbServer | undefined,
    readonly databaseUrl: string | undefined,
    readonly receiver: NodeService | undefined,
    readonly redis: Redis,
  ) {
    this.keys = deviceKeys();
    this.outbox = new OutboxStore(redis);
    this.measuring = new MeasuringStateStore(redis, { running: true, intervalMs: 1000 });
  }

  static async start(opts: DeviceRigOptions = {}): Promise<DeviceRig> {
    const deviceId = opts.deviceId ?? `dev-${Math.random().toString(36).slice(2, 8)}`;
    const backend = opts.backend ?? true;
    const [redisServer, broker, db] = await Promise.all([
      RedisServer.start({ appendfsync: opts.appendfsync ?? 'everysec', powerCut: opts.powerCut ?? false }),
      MosquittoServer.start(opts.brokerConfig ? { extraConfig: opts.brokerConfig } : {}),
      backend ? MariaDbServer.start() : undefined,
    ]);
    const databaseUrl = db ? await db.createDatabase() : undefined;
    const receiver = databaseUrl
      ? await NodeService.start('backend/receiver', {
          env: { ...quiet(), DATABASE_URL: databaseUrl, MQTT_URL: broker.url, INGEST_MAX_WAIT_MS: '20' },
        })
      : undefined;
    const redis = new Redis(redisServer.url, { maxRetriesPerRequest: null });
    redis.on('error', () => {}); // tests kill Redis on purpose; commands wait for it to come back
    const rig = new DeviceRig(deviceId, redisServer, broker, db, databaseUrl, receiver, redis);
    if (opts.mqtthandler !== false) await rig.startMqtthandler(opts.mqtthandler ?? {});
    if (opts.sensor !== false) await rig.startSensor(opts.sensor ?? {});
    return rig;
  }

  async startSensor(env: Record<string, string> = {}): Promise<NodeService> {
    this.sensor = await NodeService.start('device/sensor', {
      env: {
        ...quiet(),
        REDIS_URL: this.redisServer.url,
        SENSOR_DRIVER: 'simulated',
        SENSOR_INTERVAL_MS: '100',
        ...env,
      },
    });
    return this.sensor;
  }

  async startMqtthandler(env: Record<string, string> = {}): Promise<NodeService> {
    this.mqtthandler = await NodeService.start('device/mqtthandler', {
      env: {
        ...quiet(),
        DEVICE_ID: this.deviceId,
        REDIS_URL: this.redisServer.url,
        MQTT_URL: this.broker.url,
        MQTT_RECONNECT_MIN_MS: '200',
        MQTT_RECONNECT_MAX_MS: '2000',
        MQTT_ACK_TIMEOUT_MS: '5000',
        STATE_PUBLISH_INTERVAL_MS: '5000',
        ...env,
      },
    });
    return this.mqtthandler;
  }

  /** Appends `count` readings with deterministic values (as the sensor would), as fast as Redis takes them. */
  async preload(count: number, bounds = { maxReadings: 0, maxAgeMs: 0 }): Promise<void> {
    const start = Date.now() - count;
    for (let i = 0; i < count; i += 500) {
      const n = Math.min(500, count - i);
      await Promise.all(
        Array.from({ length: n }, (_, k) =>
          this.outbox.append(
            new Date(start + i + k).toISOString(),
            { temperature: 20, counter: i + k },
            bounds,
          ),
        ),
      );
    }
  }

  /** Stops measuring (through Redis, as the button would) and returns the final last seq. */
  async stopMeasuring(): Promise<number> {
    await this.measuring.setRunning(false, 'local');
    await sleep(500); // the sensor's last reading in flight
    return this.outbox.lastSeq();
  }

  /** A metric of a device service, from its /metrics endpoint. */
  async metric(service: NodeService, name: string): Promise<number> {
    const { body } = await httpGet(`http://127.0.0.1:${service.port}/metrics`);
    const line = body.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
    return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : NaN;
  }

  /** Per reading (the temperature row): how many rows, distinct seqs, lowest and highest seq. */
  async storedSummary(): Promise<{ rows: number; distinct: number; min: number; max: number }> {
    const rows = (await this.requireDb().query(
      `SELECT COUNT(*) AS n, COUNT(DISTINCT seq) AS d, MIN(seq) AS lo, MAX(seq) AS hi
         FROM ${this.dbName}.readings WHERE device_id = ? AND sensor = 'temperature'`,
      [this.deviceId],
    )) as { n: number; d: number; lo: number | null; hi: number | null }[];
    const r = rows[0];
    return {
      rows: Number(r?.n ?? 0),
      distinct: Number(r?.d ?? 0),
      min: Number(r?.lo ?? 0),
      max: Number(r?.hi ?? 0),
    };
  }

  /** Stored readings (temperature row) in seq order. */
  async storedReadings(): Promise<{ seq: number; measuredMs: number; receivedMs: number }[]> {
    const rows = (await this.requireDb().query(
      `SELECT seq, UNIX_TIMESTAMP(measured_at) * 1000 AS m, UNIX_TIMESTAMP(received_at) * 1000 AS r
         FROM ${this.dbName}.readings WHERE device_id = ? AND sensor = 'temperature' ORDER BY seq`,
      [this.deviceId],
    )) as { seq: number; m: number | string; r: number | string }[];
    return rows.map((x) => ({
      seq: Number(x.seq),
      measuredMs: Math.round(Number(x.m)),
      receivedMs: Math.round(Number(x.r)),
    }));
  }

  /** Waits until `n` readings are stored and the outbox is empty. */
  async settle(n: number, timeoutMs = 120_000): Promise<void> {
    await waitFor('all readings stored and the outbox empty', timeoutMs, async () => {
      const [s, backlog] = await Promise.all([this.storedSummary(), this.redis.xlen(this.keys.outbox)]);
      return s.rows >= n && backlog === 0 ? true : `${s.rows}/${n} stored, backlog ${backlog}`;
    });
  }

  /** An MQTT client of the test, like the backend would be. */
  async client(): Promise<MqttClient> {
    return mqtt.connectAsync(this.broker.url, { clientId: `test-${Math.random().toString(36).slice(2)}` });
  }

  /** The retained device state (waits for one to be there). */
  async retainedState(): Promise<Record<string, unknown>> {
    const c = await this.client();
    try {
      const got = new Promise<Record<string, unknown>>((resolve) =>
        c.on('message', (_t, p) => resolve(JSON.parse(p.toString()) as Record<string, unknown>)),
      );
      await c.subscribeAsync(topics.state(this.deviceId), { qos: 1 });
      return await Promise.race([
        got,
        sleep(10_000).then(() => Promise.reject(new Error('no retained state within 10 s'))),
      ]);
    } finally {
      await c.endAsync();
    }
  }

  get dbName(): string {
    return new URL(this.databaseUrl ?? 'mariadb://x/none').pathname.slice(1);
  }

  private requireDb(): MariaDbServer {
    if (!this.db) throw new Error('this rig has no backend');
    return this.db;
  }

  async close(): Promise<void> {
    this.redis.disconnect();
    await Promise.allSettled([this.sensor?.stop(), this.mqtthandler?.stop(), this.receiver?.stop()]);
    await Promise.allSettled([this.redisServer.stop(), this.broker.stop(), this.db?.stop()]);
  }
}
