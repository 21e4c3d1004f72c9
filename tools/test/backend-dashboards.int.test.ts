import { readFileSync } from 'node:fs';
import path from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MariaDbServer, MosquittoServer, MysqldExporter, PrometheusServer } from '../src/harness/index.js';
import { NodeService } from '../src/harness/node-service.js';
import { REPO_ROOT } from '../src/harness/repo-root.js';
import { dashboardQueries, expandGrafanaMacros, renderScrapeConfig } from '../src/images/dashboards.js';

/**
 * The backend dashboards against a real Prometheus (Debian's package) scraping two real receiver
 * replicas, our broker-metrics exporter and Debian's mysqld exporter (the program the compose file runs
 * from its upstream image) with the shipped scrape config (backend/prometheus/prometheus.yml, addresses
 * made local, interval shortened). Every PromQL expression must return series, so a metric renamed in
 * code breaks this test, not a dashboard. The fleet table's SQL runs against the migrated database.
 */
const DASHBOARDS = ['fleet', 'ingest', 'services'].map((d) => `backend/grafana/dashboards/${d}.json`);
const stop: { destroy(): Promise<void> }[] = [];
let prometheus: PrometheusServer;
let mariadb: MariaDbServer;
let databaseUrl: string;

beforeAll(async () => {
  // $SYS every second instead of the shipped 10 s, so the broker panels have data at once.
  const [db, broker] = await Promise.all([
    MariaDbServer.start(),
    MosquittoServer.start({ extraConfig: 'sys_interval 1' }),
  ]);
  mariadb = db;
  stop.push(db, broker);
  databaseUrl = await db.createDatabase();
  const receiverEnv = (id: string) => ({
    DATABASE_URL: databaseUrl,
    MQTT_URL: broker.url,
    RECEIVER_REPLICA_ID: id,
    STATS_LOG_INTERVAL: '0',
    FOLD_INTERVAL: '200ms',
    LOG_LEVEL: 'warn',
  });
  // One after the other: both run the idempotent migrations, no need to race them here.
  const r1 = await NodeService.start('backend/receiver', {
    env: receiverEnv('receiver-1'),
    label: 'receiver-1',
  });
  const r2 = await NodeService.start('backend/receiver', {
    env: receiverEnv('receiver-2'),
    label: 'receiver-2',
  });
  stop.push(r1, r2);
  // The exporter's account as backend/mariadb/initdb makes it: read-only server status.
  await db.query("CREATE USER 'exporter'@'127.0.0.1' IDENTIFIED BY 'exporter-test-password'");
  await db.query("GRANT PROCESS, REPLICATION CLIENT, SELECT ON *.* TO 'exporter'@'127.0.0.1'");
  const [brokerMetrics, mysqldExporter] = await Promise.all([
    NodeService.start('backend/mqttserver', {
      entry: 'dist/broker-metrics/main.js',
      label: 'broker-metrics',
      env: { MQTT_URL: broker.url, LOG_LEVEL: 'warn' },
    }),
    MysqldExporter.start({
      mariadbPort: db.port,
      user: 'exporter',
      password: 'exporter-test-password',
    }),
  ]);
  stop.push(brokerMetrics, mysqldExporter);

  // Traffic that makes every labelled series exist: stored readings, a rejected reading, a rejected
  // message, presence.
  const client = await mqtt.connectAsync(broker.url, { clientId: 'dash-device' });
  const ts = new Date().toISOString();
  await client.publishAsync('devices/dash-1/online', 'true', { qos: 1, retain: true });
  for (let seq = 1; seq <= 20; seq++) {
    const telemetry = {
      v: 1,
      readings: [{ seq, ts, values: { temperature: 21.5, humidity: 40, pressure: 1013 } }],
    };
    await client.publishAsync('devices/dash-1/telemetry', JSON.stringify(telemetry), { qos: 1 });
  }
  const badReading = { v: 1, readings: [{ seq: 0, ts, values: { temperature: 1 } }] };
  await client.publishAsync('devices/dash-1/telemetry', JSON.stringify(badReading), { qos: 1 });
  await client.publishAsync('devices/dash-1/telemetry', '{not json', { qos: 1 });
  await client.endAsync();

  const config = renderScrapeConfig(
    readFileSync(path.join(REPO_ROOT, 'backend/prometheus/prometheus.yml'), 'utf8'),
    {
      'receiver-1:9201': `127.0.0.1:${r1.port}`,
      'receiver-2:9201': `127.0.0.1:${r2.port}`,
      // Not run here (images only): pointed at a closed port, so they are scraped and reported down.
      'webadmin:9202': '127.0.0.1:9',
      'mysqld-exporter:9104': `127.0.0.1:${mysqldExporter.port}`,
      'broker-metrics:9234': `127.0.0.1:${brokerMetrics.port}`,
      'grafana:3000': '127.0.0.1:9',
      'localhost:9090': '127.0.0.1:9',
    },
    { scrapeInterval: '1s' },
  );
  prometheus = await PrometheusServer.start({ config });
  stop.push(prometheus);
  const deadline = Date.now() + 40_000;
  while (Date.now() < deadline) {
    const ready = await prometheus
      .query('count_over_time(up{job="receiver"}[1m]) >= 5 and on (instance) (up == 1)')
      .catch(() => []);
    const stored = await prometheus.query('sum(sensorfleet_stored_readings_total)').catch(() => []);
    // rate() over the exporters' counters needs two scrapes with values.
    const exporters = await prometheus
      .query(
        'count_over_time(sensorfleet_broker_publish_received_total[1m]) >= 3 and on () count_over_time(mysql_up[1m]) >= 3',
      )
      .catch(() => []);
    if (ready.length === 2 && Number(stored[0]?.value?.[1] ?? 0) >= 20 && exporters.length) break;
    await new Promise((r) => setTimeout(r, 500));
  }
}, 180_000);

afterAll(async () => {
  for (const s of stop.reverse()) await s.destroy().catch(() => {});
});

describe('the backend dashboards', () => {
  it('chart the fleet, the ingest and the services the issue names', () => {
    const all = DASHBOARDS.flatMap((d) => dashboardQueries(readFileSync(path.join(REPO_ROOT, d), 'utf8')));
    const exprs = all.map((q) => q.expr).join('\n');
    for (const needed of [
      'sensorfleet_fleet_devices{state="online"}',
      'sensorfleet_fleet_backlog_readings',
      'sensorfleet_stored_readings_total',
      'sensorfleet_ingest_lag_seconds_bucket',
      'sensorfleet_rejected_readings_total',
      'sensorfleet_commit_seconds_bucket',
      'sensorfleet_batch_rows',
      'up',
    ]) {
      expect(exprs).toContain(needed);
    }
  });

  it('every PromQL expression returns series, the exporters’ included', async () => {
    const empty: string[] = [];
    let evaluated = 0;
    for (const file of DASHBOARDS) {
      for (const q of dashboardQueries(readFileSync(path.join(REPO_ROOT, file), 'utf8'))) {
        const expr = expandGrafanaMacros(q.expr, '10s');
        const result = await prometheus.query(expr); // rejects on a syntax error
        evaluated++;
        if (!result.length) empty.push(`${path.basename(file)} / ${q.panel}: ${q.expr}`);
      }
    }
    expect(empty).toEqual([]);
    expect(evaluated).toBeGreaterThan(20);
  });

  it('sees both replicas, the stored readings, and the rejections by reason', async () => {
    const up = await prometheus.query('up{job="receiver"} == 1');
    expect(up).toHaveLength(2);
    const stored = await prometheus.query('sum(sensorfleet_stored_readings_total)');
    expect(Number(stored[0]!.value![1])).toBe(20);
    const reasons = await prometheus.query('sum by (reason) (sensorfleet_rejected_readings_total)');
    expect(reasons.map((r) => r.metric.reason)).toContain('bad_seq');
    const messages = await prometheus.query('sum by (reason) (sensorfleet_rejected_messages_total)');
    expect(messages.length).toBeGreaterThan(0);
    const online = await prometheus.query('max(sensorfleet_fleet_devices{state="online"})');
    expect(Number(online[0]!.value![1])).toBe(1);
  });

  it('the fleet table’s SQL runs against the migrated schema and lists the device', async () => {
    const fleet = JSON.parse(
      readFileSync(path.join(REPO_ROOT, 'backend/grafana/dashboards/fleet.json'), 'utf8'),
    ) as {
      panels: { targets?: { rawSql?: string }[] }[];
    };
    const sql = fleet.panels.flatMap((p) => p.targets ?? []).find((t) => t.rawSql)!.rawSql!;
    const db = new URL(databaseUrl).pathname.slice(1);
    await mariadb.query(`USE \`${db}\``).catch(() => {});
    const rows = (await mariadb.query(sql.replace('FROM devices', `FROM \`${db}\`.devices`))) as {
      device: string;
    }[];
    expect(rows.map((r) => r.device)).toContain('dash-1');
  });
});
