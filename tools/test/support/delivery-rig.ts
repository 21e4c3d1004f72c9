import { Redis } from 'ioredis';
import { createPool } from '@sensorfleet/mariadb';
import { OutboxStore } from '@sensorfleet/shared';
import {
  MariaDbServer,
  MosquittoServer,
  NodeService,
  RedisServer,
  waitFor,
} from '@sensorfleet/tools/harness';

/**
 * One device link (Redis + mqtthandler) and one backend (Mosquitto + receiver + MariaDB), every part a
 * real process a test can kill. Readings are produced through the same outbox script the sensor uses.
 */
export class DeliveryRig {
  private constructor(
    readonly deviceId: string,
    readonly redisServer: RedisServer,
    readonly broker: MosquittoServer,
    readonly db: MariaDbServer,
    readonly databaseUrl: string,
    readonly receiver: NodeService,
    readonly mqtthandler: NodeService,
    readonly redis: Redis,
    readonly outbox: OutboxStore,
  ) {}

  static async start(
    opts: { deviceId?: string; appendfsync?: 'always' | 'everysec' } = {},
  ): Promise<DeliveryRig> {
    const deviceId = opts.deviceId ?? `dev-${Math.random().toString(36).slice(2, 8)}`;
    const [redisServer, broker, db] = await Promise.all([
      RedisServer.start({ appendfsync: opts.appendfsync ?? 'everysec' }),
      MosquittoServer.start(),
      MariaDbServer.start(),
    ]);
    const databaseUrl = await db.createDatabase();
    const quiet = { LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn' };
    const receiver = await NodeService.start('backend/receiver', {
      env: { ...quiet, DATABASE_URL: databaseUrl, MQTT_URL: broker.url, INGEST_MAX_WAIT_MS: '20' },
    });
    const mqtthandler = await NodeService.start('device/mqtthandler', {
      env: {
        ...quiet,
        DEVICE_ID: deviceId,
        REDIS_URL: redisServer.url,
        MQTT_URL: broker.url,
        MQTT_RECONNECT_MIN_MS: '200',
        MQTT_RECONNECT_MAX_MS: '1000',
        MQTT_ACK_TIMEOUT_MS: '5000',
        MQTT_BATCH_MAX_WAIT_MS: '50',
      },
    });
    const redis = new Redis(redisServer.url, { maxRetriesPerRequest: null });
    return new DeliveryRig(
      deviceId,
      redisServer,
      broker,
      db,
      databaseUrl,
      receiver,
      mqtthandler,
      redis,
      new OutboxStore(redis),
    );
  }

  /**
   * Appends `count` readings (3 sensors each) at about `perSecond`, as the sensor would; values encode the
   * seq so the test can check that what is stored is what was measured.
   */
  async produce(
    count: number,
    perSecond: number,
    onProgress?: (n: number) => Promise<void> | void,
  ): Promise<number[]> {
    const seqs: number[] = [];
    const started = Date.now();
    for (let i = 0; i < count; i++) {
      const { seq } = await this.outbox.append(new Date().toISOString(), expectedValues(seqs.length + 1), {
        maxReadings: 0,
        maxAgeMs: 0,
      });
      seqs.push(seq);
      if (onProgress) await onProgress(i + 1);
      const ahead = started + ((i + 1) * 1000) / perSecond - Date.now();
      if (ahead > 0) await new Promise((r) => setTimeout(r, ahead));
    }
    return seqs;
  }

  async storedRows(): Promise<number> {
    const rows = (await this.db.query(`SELECT COUNT(*) AS n FROM ${dbName(this.databaseUrl)}.readings`)) as {
      n: number;
    }[];
    return Number(rows[0]?.n ?? 0);
  }

  /** Waits until `rows` rows are stored and the outbox is empty. */
  async settle(rows: number, timeoutMs = 120_000): Promise<void> {
    await waitFor(`${rows} rows stored and an empty outbox`, timeoutMs, async () => {
      const stored = await this.storedRows().catch(() => -1);
      const backlog = await this.redis.xlen(this.outbox.keys.outbox).catch(() => -1);
      return stored === rows && backlog === 0 ? true : JSON.stringify({ stored, backlog });
    });
  }

  /**
   * Per sensor: count, distinct seqs, min and max seq, and how many measured values differ from what was
   * produced (derived sensors are checked against reference tables in the receiver's unit tests).
   */
  async audit(): Promise<
    { sensor: string; n: number; distinct: number; min: number; max: number; wrong: number }[]
  > {
    const pool = createPool(this.databaseUrl, { connectionLimit: 1 });
    try {
      const rows = (await pool.query(
        `SELECT sensor, COUNT(*) AS n, COUNT(DISTINCT seq) AS \`distinct\`, MIN(seq) AS min, MAX(seq) AS max,
           SUM(CASE sensor WHEN 'temperature' THEN ABS(value - (20 + (seq % 1000) / 100)) > 1e-9
                           WHEN 'humidity' THEN ABS(value - (40 + (seq % 500) / 10)) > 1e-9
                           WHEN 'counter' THEN value <> seq
                           ELSE 0 END) AS wrong
         FROM readings WHERE device_id = ? GROUP BY sensor ORDER BY sensor`,
        [this.deviceId],
      )) as Record<string, number | string>[];
      return rows.map((r) => ({
        sensor: String(r.sensor),
        n: Number(r.n),
        distinct: Number(r.distinct),
        min: Number(r.min),
        max: Number(r.max),
        wrong: Number(r.wrong),
      }));
    } finally {
      await pool.end();
    }
  }

  async close(): Promise<void> {
    this.redis.disconnect();
    await Promise.allSettled([this.mqtthandler.stop(), this.receiver.stop()]);
    await Promise.allSettled([this.redisServer.stop(), this.broker.stop(), this.db.stop()]);
  }
}

/** Deterministic values for a seq (exact in DOUBLE: checked by audit()). */
export function expectedValues(seq: number): Record<string, number> {
  return { temperature: 20 + (seq % 1000) / 100, humidity: 40 + (seq % 500) / 10, counter: seq };
}

function dbName(url: string): string {
  return new URL(url).pathname.slice(1);
}
