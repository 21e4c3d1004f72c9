import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csvChunks } from '../src/queries/csv-export.js';
import { WebadminRig, type Login } from './support/webadmin-rig.js';

/**
 * History resolution, CSV export and completeness against real MariaDB. The rows are written the way the
 * receiver writes them (readings, and the minute/hour rollups its fold job keeps).
 */
let rig: WebadminRig;
let viewer: Login;
const H = 3_600_000;
const start = Date.UTC(2026, 10, 20, 0, 0, 0); // three hours of 1 Hz readings from here
const SECONDS = 3 * 3600;

beforeAll(async () => {
  rig = await WebadminRig.start();
  await rig.addUser('v', 'viewer');
  viewer = await rig.login('v');
  await rig.addDevice('hist');
  // seqs 1..10800, one per second; seqs 5001..5010 missing (a gap), temperature and humidity.
  const rows: unknown[][] = [];
  for (let s = 1; s <= SECONDS; s++) {
    if (s > 5000 && s <= 5010) continue;
    const at = new Date(start + (s - 1) * 1000);
    rows.push(['hist', s, 'temperature', 20 + (s % 60) / 10, at], ['hist', s, 'humidity', 40 + (s % 7), at]);
  }
  for (let i = 0; i < rows.length; i += 5000) {
    const chunk = rows.slice(i, i + 5000);
    await rig.pool.query(
      `INSERT INTO readings (device_id, seq, sensor, value, measured_at) VALUES ${chunk.map(() => '(?,?,?,?,?)').join(',')}`,
      chunk.flat(),
    );
  }
  for (const [table, unit] of [
    ['readings_1m', "DATE_FORMAT(measured_at, '%Y-%m-%d %H:%i:00')"],
    ['readings_1h', "DATE_FORMAT(measured_at, '%Y-%m-%d %H:00:00')"],
  ] as const) {
    await rig.pool.query(
      `INSERT INTO ${table} (device_id, sensor, bucket, n, sum_value, min_value, max_value)` +
        ` SELECT device_id, sensor, ${unit}, COUNT(*), SUM(value), MIN(value), MAX(value) FROM readings` +
        ` WHERE device_id = 'hist' GROUP BY device_id, sensor, ${unit}`,
    );
  }
  await rig.query("UPDATE devices SET last_seq = ?, last_state = ? WHERE id = 'hist'", [
    SECONDS,
    JSON.stringify({
      v: 1,
      lastSeq: SECONDS + 5,
      oldestUnackedSeq: SECONDS + 3,
      backlog: 3,
      dropped: 10,
      rejected: 0,
    }),
  ]);
});
afterAll(async () => {
  await rig?.close();
});

const iso = (ms: number) => new Date(ms).toISOString();
async function history(query: string) {
  const r = await rig.app.inject({
    url: `/api/devices/hist/readings?${query}`,
    headers: { cookie: viewer.cookie },
  });
  expect(r.statusCode, r.body).toBe(200);
  return r.json() as {
    resolution: string;
    points: { t: string; avg: number; min: number; max: number; count: number }[];
  };
}

describe('readings history', () => {
  it('gives raw readings when they fit in maxPoints', async () => {
    const h = await history(`sensor=temperature&from=${iso(start)}&to=${iso(start + 600_000)}&maxPoints=600`);
    expect(h.resolution).toBe('raw');
    expect(h.points).toHaveLength(600);
    expect(h.points[0]).toEqual({ t: iso(start), avg: 20.1, min: 20.1, max: 20.1, count: 1 });
  });

  it('picks minute rollups when raw would be too many points', async () => {
    const h = await history(`sensor=temperature&from=${iso(start)}&to=${iso(start + 3 * H)}&maxPoints=1000`);
    expect(h.resolution).toBe('1m');
    expect(h.points).toHaveLength(180);
    expect(h.points[0]).toMatchObject({ t: iso(start), count: 60, min: 20, max: 25.9 });
  });

  it('picks hour rollups when minutes would be too many, never more points than asked', async () => {
    const h = await history(`sensor=humidity&from=${iso(start)}&to=${iso(start + 3 * H)}&maxPoints=100`);
    expect(h.resolution).toBe('1h');
    expect(h.points.map((p) => p.t)).toEqual([iso(start), iso(start + H), iso(start + 2 * H)]);
    expect(h.points.reduce((n, p) => n + p.count, 0)).toBe(SECONDS - 10);
  });

  it('sums hours into days beyond that', async () => {
    const h = await history(`sensor=humidity&from=${iso(start)}&to=${iso(start + 3 * H)}&maxPoints=10`);
    expect(h.points.length).toBeLessThanOrEqual(10);
    expect(['1h', '1d']).toContain(h.resolution);
  });
});

describe('CSV export', () => {
  it('streams one line per reading, sensors in name order, ISO UTC times', async () => {
    const r = await rig.app.inject({
      url: `/api/devices/hist/readings.csv?from=${iso(start)}&to=${iso(start + 5 * 1000)}`,
      headers: { cookie: viewer.cookie },
    });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/csv/);
    expect(r.headers['content-disposition']).toMatch(/^attachment; filename="hist_/);
    expect(r.body.split('\r\n')).toEqual([
      'seq,measured_at,humidity,temperature',
      `1,${iso(start)},41,20.1`,
      `2,${iso(start + 1000)},42,20.2`,
      `3,${iso(start + 2000)},43,20.3`,
      `4,${iso(start + 3000)},44,20.4`,
      `5,${iso(start + 4000)},45,20.5`,
      '',
    ]);
  });

  it('pages through the primary key without losing or repeating a reading at page edges', async () => {
    const chunks: string[] = [];
    for await (const c of csvChunks(rig.pool, {
      deviceId: 'hist',
      from: new Date(start),
      to: new Date(start + 3 * H),
      sensors: ['temperature'],
      pageRows: 7,
    })) {
      chunks.push(c);
      if (chunks.length > 200) break;
    }
    expect(chunks.length).toBeGreaterThan(100); // streamed in pieces, not built whole
    const all = await rig.app.inject({
      url: `/api/devices/hist/readings.csv?from=${iso(start)}&to=${iso(start + 3 * H)}`,
      headers: { cookie: viewer.cookie },
    });
    const lines = all.body.trimEnd().split('\r\n');
    expect(lines).toHaveLength(1 + SECONDS - 10);
    const seqs = lines.slice(1).map((l) => Number(l.split(',')[0]));
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(seqs.includes(5005)).toBe(false);
    expect(lines.slice(1).every((l) => l.split(',').length === 4)).toBe(true);
  });

  it('exports only the sensors asked for', async () => {
    const r = await rig.app.inject({
      url: `/api/devices/hist/readings.csv?from=${iso(start)}&to=${iso(start + 2000)}&sensors=temperature`,
      headers: { cookie: viewer.cookie },
    });
    expect(r.body).toBe(
      `seq,measured_at,temperature\r\n1,${iso(start)},20.1\r\n2,${iso(start + 1000)},20.2\r\n`,
    );
  });
});

describe('completeness', () => {
  it('counts stored vs issued per day and names the gaps with their cause', async () => {
    const r = await rig.app.inject({
      url: `/api/devices/hist/completeness?from=${iso(start)}&to=${new Date(Date.now() + H).toISOString()}`,
      headers: { cookie: viewer.cookie },
    });
    expect(r.statusCode, r.body).toBe(200);
    const c = r.json() as {
      days: {
        day: string;
        stored: number;
        issued: number;
        missing: number;
        gaps: { fromSeq: number; toSeq: number; cause: string }[];
      }[];
      accounting: { missing: number; backlog: number; explainedByDeviceCounts: number; unexplained: number };
    };
    const day = c.days.find((d) => d.day === '2026-11-20')!;
    expect(day.stored).toBe(SECONDS - 10);
    expect(day.gaps).toContainEqual(
      expect.objectContaining({ fromSeq: 5001, toSeq: 5010, cause: 'not_attributed' }),
    );
    const tail = c.days.flatMap((d) => d.gaps).filter((g) => g.fromSeq > SECONDS);
    expect(tail).toEqual([
      expect.objectContaining({ fromSeq: SECONDS + 1, toSeq: SECONDS + 2, cause: 'not_attributed' }),
      expect.objectContaining({ fromSeq: SECONDS + 3, toSeq: SECONDS + 5, cause: 'backlog' }),
    ]);
    expect(c.accounting).toMatchObject({
      missing: 12,
      backlog: 3,
      explainedByDeviceCounts: 10,
      unexplained: 2,
    });
  });
});
