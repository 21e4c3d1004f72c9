import { freePort, MariaDbServer, MosquittoServer } from '@sensorfleet/tools/harness';
import { httpGet, NodeService } from '@sensorfleet/tools/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './support/webadmin-rig.js';

/** The built service as its container runs it: main.ts, env only, /health and /metrics, SIGTERM. */
let db: MariaDbServer;
let broker: MosquittoServer;
let webadmin: NodeService;
let httpPort: number;

beforeAll(async () => {
  [db, broker] = await Promise.all([MariaDbServer.start(), MosquittoServer.start()]);
  httpPort = await freePort();
  webadmin = await NodeService.start('backend/webadmin', {
    env: {
      LOG_LEVEL: 'warn',
      DATABASE_URL: await db.createDatabase(),
      MQTT_URL: broker.url,
      HTTP_PORT: String(httpPort),
      HTTP_HOST: '127.0.0.1',
      PUBLIC_URL: 'https://admin.example.com',
    },
  });
});
afterAll(async () => {
  await webadmin?.stop().catch(() => undefined);
  await Promise.allSettled([broker?.stop(), db?.stop()]);
});

describe('the web admin process', () => {
  it('migrates, connects and reports healthy on METRICS_PORT and at /api/health', async () => {
    await waitFor('healthy', 30_000, async () => (await httpGet(webadmin.healthUrl)).status === 200);
    const api = await httpGet(`http://127.0.0.1:${httpPort}/api/health`);
    expect(api.status).toBe(200);
    expect(JSON.parse(api.body)).toMatchObject({
      ok: true,
      checks: { database: { ok: true }, mqtt: { ok: true } },
    });
    const metrics = await httpGet(`http://127.0.0.1:${webadmin.port}/metrics`);
    expect(metrics.body).toContain('sensorfleet_webadmin_http_request_duration_seconds');
    expect(metrics.body).toContain('sensorfleet_process_resident_memory_bytes');
  });

  it('serves the OpenAPI UI', async () => {
    const r = await httpGet(`http://127.0.0.1:${httpPort}/docs/json`);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ info: { title: 'sensorfleet web admin' } });
  });

  it('reports 503 while the broker is down, and 200 again after it is back', async () => {
    await broker.stop();
    await waitFor('unhealthy', 15_000, async () => (await httpGet(webadmin.healthUrl)).status === 503);
    await broker.restart();
    await waitFor('healthy again', 30_000, async () => (await httpGet(webadmin.healthUrl)).status === 200);
  });

  it('stops cleanly on SIGTERM', async () => {
    const pid = webadmin.pid!;
    await webadmin.stop();
    expect(() => process.kill(pid, 0)).toThrow();
  });
});
