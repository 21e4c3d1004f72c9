import { findMessageLog, queryIngestStats } from '@sensorfleet/mariadb';
import { SEQ_CONFLICT_REASON } from '@sensorfleet/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@sensorfleet/tools/harness';
import { ReceiverRig, ROLLUP_CHECK_SQL } from './support/receiver-rig.js';

/**
 * The receiver end to end against real Mosquitto and MariaDB: validation at the edge, source 004's
 * formats, seq conflicts, the device registry, rollups, statistics and the message log.
 */
const MAX_BYTES = 2048;
const base = Date.now() - 3_600_000;
const ts = (seq: number) => new Date(base + seq * 1000).toISOString();
const values = (seq: number) => ({
  temperature: 20 + (seq % 100) / 10,
  humidity: 40 + (seq % 50),
  pressure: 1000 + (seq % 40),
});
const readings = (from: number, to: number, at = ts) =>
  Array.from({ length: to - from + 1 }, (_, i) => ({
    seq: from + i,
    ts: at(from + i),
    values: values(from + i),
  }));
const telemetry = (rs: unknown[]) => ({ v: 1, readings: rs });

let rig: ReceiverRig;
beforeAll(async () => {
  rig = await ReceiverRig.start({ env: { MESSAGE_MAX_BYTES: String(MAX_BYTES), MESSAGE_LOG: 'all' } });
});
afterAll(async () => {
  await rig?.close();
});

async function storedSeqs(deviceId: string): Promise<number[]> {
  const rows = await rig.query<{ seq: number }>(
    'SELECT DISTINCT seq FROM readings WHERE device_id = ? ORDER BY seq',
    [deviceId],
  );
  return rows.map((r) => Number(r.seq));
}

describe('validation at the edge', () => {
  it('rejects each invalid reading with its reason in the ack, and stores the rest of the batch', async () => {
    const d = 'val-readings';
    const from = rig.acks.length;
    const good = readings(1, 1)[0]!;
    const bad: [string, unknown][] = [
      ['bad_timestamp', { seq: 2, ts: 'yesterday', values: { temperature: 20 } }],
      ['schema', { seq: 3, ts: ts(3), values: {} }],
      ['bad_sensor_name', { seq: 4, ts: ts(4), values: { 'Temp-1': 20 } }],
      ['non_numeric_value', { seq: 5, ts: ts(5), values: { temperature: '20' } }],
      ['out_of_range', { seq: 6, ts: ts(6), values: { temperature: 120 } }],
      ['out_of_range', { seq: 7, ts: ts(7), values: { humidity: 140 } }],
      ['out_of_range', { seq: 8, ts: ts(8), values: { pressure: 50 } }],
    ];
    const body = JSON.stringify(telemetry([good, ...bad.map(([, r]) => r)]));
    // NaN is no JSON, but Python writes it: only that reading is rejected.
    const withNaN = body.replace(/]}$/, `,{"seq":9,"ts":"${ts(9)}","values":{"temperature":NaN}}]}`);
    await rig.publish(`devices/${d}/telemetry`, withNaN);
    const ack = await rig.ackFor(d, from);
    expect(ack.ranges).toEqual([[1, 1]]);
    expect(ack.rejected?.map((r) => [r.seq, r.reason.split(':')[0]])).toEqual([
      ...bad.map(([reason], i) => [i + 2, reason]),
      [9, 'non_finite_value'],
    ]);
    expect(await storedSeqs(d)).toEqual([1]);
    expect(
      await rig.counter('sensorfleet_rejected_readings_total', 'reason="out_of_range"'),
    ).toBeGreaterThanOrEqual(3);
    await rig.folded();
    const counts = await rig.query<{ reason: string; n: number }>(
      'SELECT reason, SUM(n) AS n FROM ingest_rejections WHERE device_id = ? GROUP BY reason ORDER BY reason',
      [d],
    );
    expect(counts.map((c) => [c.reason, Number(c.n)])).toEqual([
      ['bad_sensor_name', 1],
      ['bad_timestamp', 1],
      ['non_finite_value', 1],
      ['non_numeric_value', 1],
      ['out_of_range', 3],
      ['schema', 1],
    ]);
    const [log] = await findMessageLog(rig.pool, { deviceId: d });
    expect(log).toMatchObject({
      outcome: 'partial',
      reason: 'bad_timestamp',
      readings: 9,
      stored: 1,
      rejected: 8,
    });
  });

  it('rejects whole messages (oversized, malformed JSON, unknown v, bad shape) with a reason, counted and logged', async () => {
    const d = 'val-messages';
    const cases: [string, string][] = [
      ['oversized', JSON.stringify(telemetry(readings(1, 40)))],
      ['malformed_json', '{"v":1,"readings":['],
      ['unknown_version', JSON.stringify({ v: 2, readings: readings(1, 1) })],
      ['schema', JSON.stringify({ v: 1, readings: [] })],
    ];
    expect(Buffer.byteLength(cases[0]![1])).toBeGreaterThan(MAX_BYTES);
    for (const [, payload] of cases) await rig.publish(`devices/${d}/telemetry`, payload);
    await waitFor(
      '4 rejected messages logged',
      10_000,
      async () => (await findMessageLog(rig.pool, { deviceId: d })).length === 4,
    );
    const log = await findMessageLog(rig.pool, { deviceId: d });
    expect(log.map((l) => [l.outcome, l.reason]).reverse()).toEqual(
      cases.map(([reason]) => ['rejected', reason]),
    );
    expect(log.find((l) => l.reason === 'oversized')).toMatchObject({
      payloadTruncated: true,
      bytes: Buffer.byteLength(cases[0]![1]),
    });
    for (const [reason] of cases) {
      expect(
        await rig.counter('sensorfleet_rejected_messages_total', `reason="${reason}"`),
      ).toBeGreaterThanOrEqual(1);
    }
    expect(await storedSeqs(d)).toEqual([]);
    await rig.folded();
    const [c] = await rig.query<{ messages: number; rejected_messages: number }>(
      'SELECT SUM(messages) AS messages, SUM(rejected_messages) AS rejected_messages FROM ingest_counters WHERE device_id = ?',
      [d],
    );
    expect([Number(c?.messages), Number(c?.rejected_messages)]).toEqual([4, 4]);
  });
});

describe('seq conflicts (the device seq counter went back after a Redis crash)', () => {
  it('rejects new readings under stored seqs with seq_conflict and highestSeq; exact replays stay duplicates', async () => {
    const d = 'conflict-dev';
    let from = rig.acks.length;
    await rig.publish(`devices/${d}/telemetry`, telemetry(readings(1, 10)));
    expect((await rig.ackFor(d, from)).ranges).toEqual([[1, 10]]);

    // Redis lost its last second: seqs 8…12 are handed out again, for readings measured later.
    from = rig.acks.length;
    const later = (seq: number) => new Date(base + 3_000_000 + seq * 1000).toISOString();
    await rig.publish(`devices/${d}/telemetry`, telemetry(readings(8, 12, later)));
    const ack = await rig.ackFor(d, from);
    expect(ack.ranges).toEqual([[11, 12]]);
    expect(ack.rejected).toEqual([8, 9, 10].map((seq) => ({ seq, reason: SEQ_CONFLICT_REASON })));
    expect(ack.highestSeq).toBe(12);
    // The old readings are untouched.
    const [old] = await rig.query<{ measured_at: Date }>(
      "SELECT measured_at FROM readings WHERE device_id = ? AND seq = 9 AND sensor = 'temperature'",
      [d],
    );
    expect(old?.measured_at.toISOString()).toBe(ts(9));

    // A replay of what is stored (the device never got the ack) is a normal duplicate.
    from = rig.acks.length;
    await rig.publish(`devices/${d}/telemetry`, telemetry(readings(1, 5)));
    expect(await rig.ackFor(d, from)).toEqual({ v: 1, ranges: [[1, 5]] });
    const [log] = await findMessageLog(rig.pool, { deviceId: d, limit: 1 });
    expect(log).toMatchObject({ outcome: 'duplicate', duplicates: 5 });
    expect(await rig.counter('sensorfleet_rejected_readings_total', `reason="${SEQ_CONFLICT_REASON}"`)).toBe(
      3,
    );
  });
});

describe('source 004 compatibility', () => {
  it('stores both payload formats through the same path, with derived values', async () => {
    const d = '6a3e1f0c-0000-4000-8000-000000000004';
    await rig.publish(`devices/${d}/data`, {
      sensors: [
        { sensor_name: 'temperature', value: 25.5, unit: '°C', timestamp: '2025-12-19T14:30:00+08:00' },
        { sensor_name: 'humidity', value: 60, unit: '%' },
      ],
      status: { ip_address: '192.168.1.100', rssi: -50 },
      location: { latitude: 39.9042, longitude: 116.4074 },
      timestamp: '2025-12-19T14:30:00+08:00',
    });
    await rig.publish(`devices/${d}/data`, { temperature: 30, humidity: 70, light: 850 });
    await waitFor('004 rows', 10_000, async () => (await storedSeqs(d)).length === 2);
    const rows = await rig.query<{ seq: number; sensor: string; value: number; measured_at: Date }>(
      'SELECT seq, sensor, value, measured_at FROM readings WHERE device_id = ? ORDER BY seq, sensor',
      [d],
    );
    const full = Date.UTC(2025, 11, 19, 6, 30);
    expect(rows.slice(0, 4).map((r) => [Number(r.seq), r.sensor, r.value, r.measured_at.getTime()])).toEqual([
      [full, 'dew_point', 17.16, full],
      [full, 'heat_index', 25.59, full],
      [full, 'humidity', 60, full],
      [full, 'temperature', 25.5, full],
    ]);
    expect(rows.slice(4).map((r) => [r.sensor, r.value])).toEqual([
      ['dew_point', 23.93],
      ['heat_index', 35.04],
      ['humidity', 70],
      ['light', 850],
      ['temperature', 30],
    ]);
    // A QoS 1 redelivery of the timestamped message is stored once.
    await rig.publish(`devices/${d}/data`, {
      sensors: [{ sensor_name: 'temperature', value: 25.5, timestamp: '2025-12-19T14:30:00+08:00' }],
    });
    await waitFor('the replay to be counted', 10_000, async () => {
      const [c] = await rig.query<{ n: number }>(
        'SELECT SUM(duplicate_readings) AS n FROM ingest_counters WHERE device_id = ?',
        [d],
      );
      return Number(c?.n) === 1;
    });
    expect(await storedSeqs(d)).toHaveLength(2);
  });

  it('applies 004 validation: bad samples rejected with reasons, the valid ones stored', async () => {
    const d = 'esp32-validation';
    await rig.publish(
      `devices/${d}/data`,
      '{"temperature": 21.5, "123abc": 1, "humidity": "60", "pressure": 5000, "co2": NaN}',
    );
    await waitFor(
      'the message',
      10_000,
      async () => (await findMessageLog(rig.pool, { deviceId: d })).length === 1,
    );
    const [log] = await findMessageLog(rig.pool, { deviceId: d });
    expect(log).toMatchObject({ outcome: 'partial', stored: 1, rejected: 4 });
    expect(log?.detail).toMatch(/bad_sensor_name.*non_numeric_value.*non_finite_value.*out_of_range/);
    expect(
      (await rig.query('SELECT sensor FROM readings WHERE device_id = ?', [d])).map((r) => r.sensor),
    ).toEqual(['temperature']);
  });
});

describe('device registry', () => {
  it('keeps online, state, heartbeat and 004 status per device', async () => {
    const native = 'reg-native';
    const esp = 'reg-004';
    const state = {
      v: 1,
      running: true,
      intervalMs: 1000,
      backlog: 3,
      oldestUnackedTs: null,
      lastSeq: 42,
      dropped: 0,
      version: '1.2.3',
      uptimeS: 12,
      ts: new Date(Date.now() - 1000).toISOString(),
    };
    await rig.publish(`devices/${native}/online`, 'true', { retain: true });
    await rig.publish(`devices/${native}/state`, state, { retain: true });
    await rig.publish(`devices/${esp}/heartbeat`, { timestamp: '2025-12-19T14:30:00+08:00' });
    await rig.publish(`devices/${esp}/status`, { status: 'maintenance', battery: 95, signal: 'good' });
    await rig.publish(`devices/${esp}/data`, {
      sensors: [{ sensor_name: 'light', value: 10 }],
      status: { rssi: -60 },
    });
    await waitFor('registry rows', 10_000, async () => {
      const rows = await rig.query<{ id: string; last_state: unknown; last_report_data: unknown }>(
        'SELECT id, last_state, last_report_data FROM devices WHERE id IN (?, ?)',
        [native, esp],
      );
      return rows.length === 2 && rows.every((r) => r.last_state || r.last_report_data);
    });
    await rig.folded();
    const [n] = await rig.query<Record<string, unknown>>('SELECT * FROM devices WHERE id = ?', [native]);
    expect(n).toMatchObject({ online: 1, protocol: 'native', last_state: state });
    expect((n!.last_state_at as Date).toISOString()).toBe(state.ts);
    const [e] = await rig.query<Record<string, unknown>>('SELECT * FROM devices WHERE id = ?', [esp]);
    expect(e).toMatchObject({ online: 1, protocol: 'compat004', device_status: 'maintenance' });
    expect(e!.last_heartbeat_at).toBeInstanceOf(Date);
    expect(e!.last_report_data).toMatchObject({
      status: { status: 'maintenance', battery: 95, signal: 'good', rssi: -60 },
      sensors: { light: { value: 10, unit: '' } },
    });

    // The will: offline; a status "offline" from a 004 device likewise.
    await rig.publish(`devices/${native}/online`, 'false', { retain: true });
    await rig.publish(`devices/${esp}/status`, { status: 'offline' });
    await waitFor('offline', 10_000, async () => {
      const rows = await rig.query<{ online: number }>('SELECT online FROM devices WHERE id IN (?, ?)', [
        native,
        esp,
      ]);
      return rows.every((r) => Number(r.online) === 0);
    });
    await rig.folded();
    const [before] = await rig.query<{ last_seen: Date; online_changed_at: Date }>(
      'SELECT last_seen, online_changed_at FROM devices WHERE id = ?',
      [native],
    );

    // A receiver restart gets the retained online/state again: applied idempotently, last_seen unmoved.
    const mark = (
      await rig.query<{ n: number }>('SELECT COUNT(*) AS n FROM message_log WHERE device_id = ?', [native])
    )[0]!.n;
    await rig.receivers[0]!.stop();
    await rig.receivers[0]!.start();
    await rig.waitHealthy();
    await waitFor('retained messages again', 10_000, async () => {
      const [c] = await rig.query<{ n: number }>(
        'SELECT COUNT(*) AS n FROM message_log WHERE device_id = ?',
        [native],
      );
      return Number(c?.n) >= Number(mark) + 2;
    });
    await rig.folded();
    const [after] = await rig.query<Record<string, unknown>>('SELECT * FROM devices WHERE id = ?', [native]);
    expect(after).toMatchObject({
      online: 0,
      last_seen: before!.last_seen,
      online_changed_at: before!.online_changed_at,
      last_state: state,
    });
  });
});

describe('rollups, statistics, message log', () => {
  it('rollups equal a GROUP BY over the raw rows after replays with duplicates', async () => {
    const devices = ['roll-a', 'roll-b', 'roll-c'];
    // (MESSAGE_MAX_BYTES is small in this rig: 10 readings per message.)
    for (const d of devices) {
      for (let from = 1; from <= 300; from += 10)
        await rig.publish(`devices/${d}/telemetry`, telemetry(readings(from, from + 9)));
    }
    // Replays overlapping what is stored, in other batch shapes; and a 004 device sending the same twice.
    for (const d of devices) {
      for (let from = 25; from <= 160; from += 17)
        await rig.publish(`devices/${d}/telemetry`, telemetry(readings(from, from + 16)));
    }
    for (let i = 0; i < 2; i++) {
      await rig.publish('devices/roll-004/data', {
        sensors: [1, 2, 3].map((k) => ({
          sensor_name: 'temperature',
          value: 20 + k,
          timestamp: `2025-12-19T14:3${k}:00+08:00`,
        })),
      });
    }
    await waitFor('all rows', 20_000, async () => {
      const [r] = await rig.query<{ n: number }>(
        "SELECT COUNT(DISTINCT device_id, seq) AS n FROM readings WHERE device_id LIKE 'roll-%'",
      );
      return Number(r?.n) === 3 * 300 + 3;
    });
    await rig.folded();
    for (const table of ['readings_1m', 'readings_1h'] as const) {
      expect(await rig.query(ROLLUP_CHECK_SQL(table))).toEqual([]);
      const [raw] = await rig.query<{ n: number }>(`SELECT SUM(n) AS n FROM ${table}`);
      const [all] = await rig.query<{ n: number }>('SELECT COUNT(*) AS n FROM readings');
      expect(Number(raw?.n)).toBe(Number(all?.n));
    }
  });

  it('ingest statistics from the database: totals, rejections by reason, per-device rates', async () => {
    await rig.folded();
    const stats = await queryIngestStats(rig.pool, { windowMinutes: 120 });
    const [all] = await rig.query<{ n: number }>('SELECT COUNT(*) AS n FROM readings');
    expect(stats.totals.storedRows).toBe(Number(all?.n));
    expect(stats.totals.rejectedMessages).toBe(4);
    expect(stats.rejectedByReason).toContainEqual({
      scope: 'reading',
      reason: SEQ_CONFLICT_REASON,
      count: 3,
    });
    const a = stats.devices.find((d) => d.deviceId === 'roll-a');
    expect(a).toMatchObject({ storedReadings: 300, duplicateReadings: 136, messages: 38 });
    expect(a?.storedReadingsPerMinute).toBeCloseTo(300 / 120, 2);
  });

  it('the message log is findable by device and time', async () => {
    const since = Date.now() - 120_000;
    const entries = await findMessageLog(rig.pool, { deviceId: 'roll-b', from: since, limit: 3 });
    expect(entries).toHaveLength(3);
    expect(entries[0]).toMatchObject({ topicKind: 'telemetry', payloadEncoding: 'utf8' });
    // Which of an original and its overlapping replay counts as the duplicate depends on which of two
    // concurrent transactions inserts first; that the newest message is found is what matters here.
    expect(['duplicate', 'partial', 'stored']).toContain(entries[0]!.outcome);
    expect(JSON.parse(entries[0]!.payload)).toMatchObject({ v: 1 });
    expect(await findMessageLog(rig.pool, { deviceId: 'roll-b', to: since })).toEqual([]);
  });
});
