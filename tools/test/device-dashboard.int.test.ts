import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MosquittoServer, PrometheusServer, RedisServer } from '../src/harness/index.js';
import { dashboardQueries, expandGrafanaMacros, renderScrapeConfig } from '../src/images/dashboards.js';
import { NodeService } from '../src/harness/node-service.js';
import { REPO_ROOT } from '../src/harness/repo-root.js';

/**
 * The device's local dashboard against a real Prometheus (Debian's package) that scrapes the real device
 * services with the scrape configuration the device image ships (device/prometheus/prometheus.yml, only
 * the addresses made local and the interval shortened): every query of the dashboard must return data,
 * so a metric renamed in code breaks this test instead of a panel on a device.
 */
const stop: { destroy(): Promise<void> }[] = [];
let prometheus: PrometheusServer;

beforeAll(async () => {
  const [redis, mosquitto] = await Promise.all([RedisServer.start(), MosquittoServer.start()]);
  stop.push(redis, mosquitto);
  const common = { REDIS_URL: redis.url, LOG_LEVEL: 'warn' };
  const [sensor, mqtthandler, button] = await Promise.all([
    NodeService.start('device/sensor', {
      env: { ...common, SENSOR_DRIVER: 'simulated', SENSOR_INTERVAL_MS: '200' },
    }),
    NodeService.start('device/mqtthandler', {
      env: { ...common, MQTT_URL: mosquitto.url, DEVICE_ID: 'dash-test' },
    }),
    NodeService.start('device/startstopbutton', { env: { ...common, BUTTON_DRIVER: 'none' } }),
  ]);
  stop.push(sensor, mqtthandler, button);
  const config = renderScrapeConfig(
    readFileSync(path.join(REPO_ROOT, 'device/prometheus/prometheus.yml'), 'utf8'),
    {
      'sensor:9101': `127.0.0.1:${sensor.port}`,
      'mqtthandler:9102': `127.0.0.1:${mqtthandler.port}`,
      'startstopbutton:9103': `127.0.0.1:${button.port}`,
    },
    { scrapeInterval: '1s' },
  );
  prometheus = await PrometheusServer.start({ config });
  stop.push(prometheus);
  // A handful of scrapes: rate() and increase() need two samples in their window.
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const up = await prometheus.query('count_over_time(up[1m]) >= 4').catch(() => []);
    if (up.length === 3) break;
    await new Promise((r) => setTimeout(r, 500));
  }
}, 120_000);

afterAll(async () => {
  for (const s of stop.reverse()) await s.destroy().catch(() => {});
});

describe('the device dashboard (device/grafana/dashboards/device.json)', () => {
  const queries = dashboardQueries(
    readFileSync(path.join(REPO_ROOT, 'device/grafana/dashboards/device.json'), 'utf8'),
  );

  it('is scraped from every device service with the shipped scrape config', async () => {
    const targets = await prometheus.targets();
    expect(targets.map((t) => t.job).sort()).toEqual(['mqtthandler', 'sensor', 'startstopbutton']);
    for (const t of targets) expect(t, t.job).toMatchObject({ health: 'up', lastError: '' });
    // The runtime histograms are dropped on the device (SD card), the service metrics are kept.
    expect(await prometheus.query('{__name__=~"sensorfleet_nodejs_.*"}')).toEqual([]);
  });

  it('charts temperature, humidity, pressure, measuring state, backlog, drops and the broker link', () => {
    const all = queries.map((q) => q.expr).join('\n');
    for (const needed of [
      'sensor="temperature"',
      'sensor="humidity"',
      'sensor="pressure"',
      'sensorfleet_measuring',
      'sensorfleet_outbox_backlog',
      'sensorfleet_outbox_dropped',
      'sensorfleet_mqtt_connected',
    ]) {
      expect(all).toContain(needed);
    }
    const dash = JSON.parse(
      readFileSync(path.join(REPO_ROOT, 'device/grafana/dashboards/device.json'), 'utf8'),
    );
    expect(dash.time).toEqual({ from: 'now-24h', to: 'now' });
  });

  it('every query returns data', async () => {
    const empty: string[] = [];
    for (const q of queries) {
      const result = await prometheus.query(expandGrafanaMacros(q.expr, '10s'));
      if (!result.length) empty.push(`${q.panel}: ${q.expr}`);
    }
    expect(empty).toEqual([]);
    const temperature = await prometheus.query('sensorfleet_reading_value{sensor="temperature"}');
    expect(Number(temperature[0]!.value![1])).toBeGreaterThan(-40);
    expect((await prometheus.query('sensorfleet_mqtt_connected'))[0]!.value![1]).toBe('1');
  });

  it('uses the provisioned datasource in every panel, and no plugin beyond Grafana’s built-in ones', () => {
    const dash = readFileSync(path.join(REPO_ROOT, 'device/grafana/dashboards/device.json'), 'utf8');
    const ds = readFileSync(
      path.join(REPO_ROOT, 'device/grafana/provisioning/datasources/prometheus.yml'),
      'utf8',
    );
    expect(ds).toContain('uid: device-prometheus');
    const uids = new Set([...dash.matchAll(/"uid": "([^"]+)"/g)].map((m) => m[1]));
    uids.delete('sensorfleet-device'); // the dashboard's own uid
    expect([...uids]).toEqual(['device-prometheus']);
    const types = new Set([...dash.matchAll(/"type": "([^"]+)"/g)].map((m) => m[1]));
    for (const t of types) expect(['row', 'stat', 'timeseries', 'table', 'prometheus', 'value']).toContain(t);
    expect(readFileSync(path.join(REPO_ROOT, 'device/grafana/Dockerfile'), 'utf8')).toContain(
      'GF_PLUGINS_PREINSTALL_DISABLED=true',
    );
  });
});
