import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { Counter, createLogger, createMetricsRegistry, HealthEndpoint } from '../src/index.js';

function get(port: number, path: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }),
      );
    })
      .on('error', reject)
      .end();
  });
}

describe('HealthEndpoint', () => {
  let endpoint: HealthEndpoint | undefined;
  afterEach(() => endpoint?.stop());

  it('answers /health with 200 or 503 and the checks, /metrics in Prometheus text, 404 otherwise', async () => {
    const registry = createMetricsRegistry('unit');
    const counter = new Counter({ name: 'sensorfleet_test_total', help: 'test', registers: [registry] });
    counter.inc(3);
    let ok = true;
    endpoint = new HealthEndpoint({
      port: 0,
      host: '127.0.0.1',
      registry,
      log: createLogger('unit', 'silent'),
      health: () => ({ ok, checks: { redis: { ok, detail: ok ? 'ready' : 'down' } } }),
    });
    await endpoint.start();
    const healthy = await get(endpoint.port, '/health');
    expect(healthy.status).toBe(200);
    expect(JSON.parse(healthy.body)).toEqual({ ok: true, checks: { redis: { ok: true, detail: 'ready' } } });
    ok = false;
    expect((await get(endpoint.port, '/health')).status).toBe(503);
    const metrics = await get(endpoint.port, '/metrics');
    expect(metrics.body).toContain('sensorfleet_test_total{service="unit"} 3');
    expect(metrics.body).toContain('sensorfleet_process_resident_memory_bytes');
    expect((await get(endpoint.port, '/nope')).status).toBe(404);
  });
});
