import { readFileSync } from 'node:fs';
import { createPool } from '@sensorfleet/mariadb';
import type { Ack } from '@sensorfleet/shared';
import type { Pool } from 'mariadb';
import mqtt, { type MqttClient } from 'mqtt';
import {
  httpGet,
  MariaDbServer,
  MosquittoServer,
  NodeService,
  sleep,
  waitFor,
} from '@sensorfleet/tools/harness';

/**
 * A backend for receiver tests: private Mosquitto and MariaDB, N receivers (the built
 * backend/receiver/dist, real processes a test can kill -9), a test MQTT client that sees every ack, and
 * a pool on the test database.
 */
export class ReceiverRig {
  readonly acks: { deviceId: string; ack: Ack }[] = [];

  private constructor(
    readonly broker: MosquittoServer,
    readonly db: MariaDbServer,
    readonly databaseUrl: string,
    readonly receivers: NodeService[],
    readonly client: MqttClient,
    readonly pool: Pool,
  ) {
    client.on('message', (topic, payload) => {
      const deviceId = topic.split('/')[1] ?? '';
      this.acks.push({ deviceId, ack: JSON.parse(payload.toString()) as Ack });
    });
  }

  static async start(opts: { receivers?: number; env?: Record<string, string> } = {}): Promise<ReceiverRig> {
    const [broker, db] = await Promise.all([MosquittoServer.start(), MariaDbServer.start()]);
    const databaseUrl = await db.createDatabase();
    const receivers = await Promise.all(
      Array.from({ length: opts.receivers ?? 1 }, (_, i) =>
        NodeService.start('backend/receiver', {
          label: `receiver-${i + 1}`,
          env: ReceiverRig.receiverEnv(databaseUrl, broker.url, opts.env),
        }),
      ),
    );
    const client = await mqtt.connectAsync(broker.url, {
      clientId: `rig-${Math.random().toString(36).slice(2, 8)}`,
    });
    await client.subscribeAsync('devices/+/ack', { qos: 1 });
    const pool = createPool(databaseUrl, { connectionLimit: 2 });
    const rig = new ReceiverRig(broker, db, databaseUrl, receivers, client, pool);
    await rig.waitHealthy();
    return rig;
  }

  static receiverEnv(
    databaseUrl: string,
    mqttUrl: string,
    extra: Record<string, string> = {},
  ): Record<string, string> {
    return {
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
      DATABASE_URL: databaseUrl,
      MQTT_URL: mqttUrl,
      INGEST_MAX_WAIT_MS: '20',
      FOLD_INTERVAL: '200ms',
      ...extra,
    };
  }

  /** Until every running receiver reports healthy (schema migrated, broker connected). */
  async waitHealthy(timeoutMs = 60_000): Promise<void> {
    await waitFor('receivers healthy', timeoutMs, async () => {
      const running = this.receivers.filter((r) => r.pid !== undefined);
      const answers = await Promise.all(
        running.map((r) => httpGet(r.healthUrl).catch(() => ({ status: 0 }))),
      );
      return answers.every((a) => a.status === 200);
    });
    // The subscription follows the connect by a round trip.
    await sleep(300);
  }

  async publish(
    topic: string,
    payload: string | object | Buffer,
    opts: { retain?: boolean } = {},
  ): Promise<void> {
    const body = typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload);
    await this.client.publishAsync(topic, body, { qos: 1, retain: opts.retain ?? false });
  }

  /** Waits for the next ack of a device after `from` acks were seen. */
  async ackFor(deviceId: string, from = 0, timeoutMs = 15_000): Promise<Ack> {
    let found: Ack | undefined;
    await waitFor(`an ack for ${deviceId}`, timeoutMs, async () => {
      found = this.acks.slice(from).find((a) => a.deviceId === deviceId)?.ack;
      return found !== undefined;
    });
    return found!;
  }

  async query<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
    return (await this.pool.query(sql, params)) as T[];
  }

  async metrics(i = 0): Promise<string> {
    const r = await httpGet(`http://127.0.0.1:${this.receivers[i]!.port}/metrics`, 5000);
    return r.body;
  }

  /** Sum of a counter over its label sets matching `labels` (e.g. `reason="out_of_range"`). */
  async counter(name: string, labels = '', i = 0): Promise<number> {
    let total = 0;
    for (const line of (await this.metrics(i)).split('\n')) {
      if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
      if (labels && !line.includes(labels)) continue;
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
    return total;
  }

  /** Until every committed batch is folded into rollups, ingest counters and devices (last seen…). */
  async folded(timeoutMs = 30_000): Promise<void> {
    await waitFor('the fold job to catch up', timeoutMs, async () => {
      const [row] = await this.query<{ n: number }>('SELECT COUNT(*) AS n FROM ingest_batches');
      return Number(row?.n) === 0;
    });
  }

  async close(): Promise<void> {
    await this.client.endAsync(true).catch(() => undefined);
    await this.pool.end().catch(() => undefined);
    await Promise.allSettled(this.receivers.map((r) => r.stop()));
    await Promise.allSettled([this.broker.stop(), this.db.stop()]);
  }
}

/** Resident set size of a process in MB (Linux /proc). */
export function rssMb(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** Rollups computed from scratch: the minute rollup as a GROUP BY over the raw rows. */
export const ROLLUP_CHECK_SQL = (table: 'readings_1m' | 'readings_1h') => {
  const bucket = table === 'readings_1m' ? "'%Y-%m-%d %H:%i:00'" : "'%Y-%m-%d %H:00:00'";
  return (
    `SELECT r.device_id, r.sensor, r.bucket, r.n AS raw_n, x.n AS roll_n, r.mn, x.min_value, r.mx, x.max_value,` +
    ` r.s, x.sum_value FROM (SELECT device_id, sensor, DATE_FORMAT(measured_at, ${bucket}) AS bucket,` +
    ` COUNT(*) AS n, MIN(value) AS mn, MAX(value) AS mx, SUM(value) AS s FROM readings` +
    ` GROUP BY device_id, sensor, bucket) r LEFT JOIN ${table} x ON x.device_id = r.device_id` +
    ` AND x.sensor = r.sensor AND x.bucket = r.bucket` +
    ` WHERE x.n IS NULL OR x.n <> r.n OR x.min_value <> r.mn OR x.max_value <> r.mx` +
    ` OR ABS(x.sum_value - r.s) > 1e-6 * GREATEST(1, ABS(r.s))`
  );
};
