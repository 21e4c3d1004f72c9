import { freePort, MariaDbServer, MosquittoServer, NodeService } from '@sensorfleet/tools/harness';
import { createPool } from '@sensorfleet/mariadb';
import type { Pool } from 'mariadb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notificationsIn, WebhookSink } from './support/alert-sinks.js';
import { sleep, waitFor } from './support/webadmin-rig.js';

/**
 * The built web admin process killed -9 while a notification is in the outbox (its webhook receiver is
 * down, so it stays pending after a failed attempt): after the restart it arrives exactly once, with the
 * id it was given in the transaction that made the alert fire.
 */
let db: MariaDbServer;
let broker: MosquittoServer;
let webadmin: NodeService;
let pool: Pool;
let sink: WebhookSink | undefined;
let sinkPort: number;

beforeAll(async () => {
  [db, broker] = await Promise.all([MariaDbServer.start(), MosquittoServer.start()]);
  const url = await db.createDatabase();
  sinkPort = await freePort();
  webadmin = await NodeService.start('backend/webadmin', {
    env: {
      LOG_LEVEL: 'warn',
      DATABASE_URL: url,
      MQTT_URL: broker.url,
      HTTP_PORT: String(await freePort()),
      HTTP_HOST: '127.0.0.1',
      ALERT_EVAL_INTERVAL_MS: '300',
      ALERT_WEBHOOK_ALLOW: '127.0.0.1',
    },
  });
  pool = createPool(url);
  await waitFor('schema', 30_000, async () => {
    await pool.query('SELECT 1 FROM alert_rules LIMIT 1');
    return true;
  });
});
afterAll(async () => {
  await webadmin?.stop().catch(() => undefined);
  await pool?.end().catch(() => undefined);
  await sink?.close();
  await Promise.allSettled([broker?.stop(), db?.stop()]);
});

describe('the outbox across kill -9', () => {
  it('sends a notification left pending by a killed process exactly once after the restart, same id', async () => {
    const now = new Date();
    await pool.query('INSERT INTO devices (id, online, last_seen, first_seen) VALUES (?, 1, ?, ?)', [
      'crash-1',
      now,
      now,
    ]);
    await pool.query(
      'INSERT INTO alert_rules (name, device_id, kind, sensor, threshold, for_s, severity, targets, created_at, updated_at)' +
        " VALUES ('crash', 'crash-1', 'above', 'temperature', 30, 0, 'critical', ?, ?, ?)",
      [
        JSON.stringify([
          { type: 'webhook', url: `http://127.0.0.1:${sinkPort}/crash`, secret: 'crash-secret-0123456789' },
        ]),
        now,
        now,
      ],
    );
    await pool.query(
      "INSERT INTO readings (device_id, seq, sensor, value, measured_at, batch_id) VALUES ('crash-1', 1, 'temperature', 35, ?, 1)",
      [new Date()],
    );
    // The receiver is down: the first attempt fails and the notification waits for its retry.
    await waitFor('a failed attempt', 15_000, async () => {
      const [r] = (await pool.query('SELECT attempts FROM alert_notifications')) as { attempts: number }[];
      return (r?.attempts ?? 0) >= 1;
    });
    const [before] = (await pool.query('SELECT id, status, message_id FROM alert_notifications')) as {
      id: string;
      status: string;
      message_id: string;
    }[];
    expect(before).toMatchObject({ status: 'pending', message_id: before!.id });

    await webadmin.kill();
    sink = await WebhookSink.start(sinkPort);
    await webadmin.restart();
    // The retry comes after the backoff (10 s step, half to all of it).
    await waitFor('the notification', 30_000, async () => sink!.at('/crash').length >= 1);
    await sleep(2000);
    const got = notificationsIn(sink.at('/crash'));
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ id: before!.id, state: 'firing', deviceId: 'crash-1' });
    const [after] = (await pool.query('SELECT status, attempts FROM alert_notifications')) as {
      status: string;
      attempts: number;
    }[];
    expect(after).toMatchObject({ status: 'sent', attempts: 2 });
    const alerts = (await pool.query('SELECT state FROM alerts')) as { state: string }[];
    expect(alerts).toEqual([{ state: 'firing' }]);
  }, 60_000);
});
