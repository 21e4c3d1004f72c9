import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runSystemBench } from '../src/bench/system-bench.js';
import { BULK_PATH_NICE } from '../src/harness/cpu-priority.js';

/**
 * The system benchmark at smoke size (20 live devices, one device replaying 1,000 readings, 3 web clients),
 * against the real processes it always starts. Correctness only, never speed: every backlog reading stored
 * exactly once, every web client got live frames, every figure of the JSON present.
 */

const dir = mkdtempSync(path.join(os.tmpdir(), 'system-bench-test-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  delete process.env.BENCH_SYSTEM_DEVICE_NICE;
});

const get = (obj: unknown, dotted: string): unknown =>
  dotted.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], obj);

describe('system benchmark (BENCH_QUICK sizes)', () => {
  it(
    'stores every reading once, reaches every client, and reports every figure',
    { timeout: 400_000 },
    async () => {
      const outFile = path.join(dir, 'system.json');
      const lines: string[] = [];
      // The niced phases run only when asked for (default 0: equal priority for the stand-ins).
      process.env.BENCH_SYSTEM_DEVICE_NICE = '10';
      const result = await runSystemBench({
        quick: true,
        sizes: { devices: 20, backlogDevices: 1, backlogPerDevice: 1000, clients: 3, wireSingle: 200 },
        outFile,
        log: (l) => lines.push(l),
      });
      expect(JSON.parse(readFileSync(outFile, 'utf8'))).toEqual(JSON.parse(JSON.stringify(result)));

      // Every backlog reading (and every one-per-message reading) stored exactly once: seqs 1..n, no gaps.
      const stored = get(result, 'drain.stored_once') as {
        complete: boolean;
        devices: Record<
          string,
          { expected: number; readings: number; first_seq: number; last_seq: number; rows: number }
        >;
      };
      expect(stored.complete).toBe(true);
      expect(Object.keys(stored.devices).sort()).toEqual(['backlog-01', 'wire-single']);
      for (const d of Object.values(stored.devices)) {
        expect(d).toMatchObject({ readings: d.expected, first_seq: 1, last_seq: d.expected });
        // The same channels per reading (4 measured + derived), so rows are a whole multiple of readings.
        expect(d.rows % d.readings).toBe(0);
        expect(d.rows / d.readings).toBeGreaterThanOrEqual(4);
      }
      expect(get(result, 'drain.readings')).toBe(1000);
      expect(get(result, 'drain.rows')).toBe(stored.devices['backlog-01']!.rows);

      // Every client got live reading frames, and live latencies were measured both ways.
      const frames = get(result, 'clients.reading_frames_per_client') as number[];
      expect(frames).toHaveLength(3);
      for (const n of frames) expect(n).toBeGreaterThan(0);
      for (const kind of ['browser', 'committed'])
        expect(get(result, `latency.${kind}.after_drain.samples`)).toBeGreaterThan(0);
      // The same live load with the device-side stand-ins niced (BENCH_SYSTEM_DEVICE_NICE=10 above),
      // and back at equal priority afterwards; the bulk path behind the live path all along, as shipped.
      expect(get(result, 'system.device_side_nice')).toBe(10);
      expect(get(result, 'system.bulk_nice')).toBe(BULK_PATH_NICE);
      expect(get(result, 'system.bulk_niced')).toBe(true);
      expect(get(result, 'latency.browser.after_drain_stand_ins_niced.samples')).toBeGreaterThan(0);
      expect(get(result, 'phases.equal_priority_restored')).toBe(true);

      // Every figure is there (a number, not null), for every process.
      const figures = [
        'drain.seconds',
        'drain.rows_per_s',
        'drain.raw_seconds',
        'drain.raw_rows_per_s',
        'drain.raw_multirow_rows_per_s',
        'drain.raw_batch_rows_per_s',
        'drain.drain_time_vs_raw',
        'latency.browser.after_drain.p50_ms',
        'latency.browser.after_drain.p99_ms',
        'latency.committed.after_drain.p50_ms',
        'latency.committed.after_drain.p99_ms',
        'device_services.max_peak_rss_mb',
        'device_services.max_peak_rss_anon_mb',
      ];
      for (const f of figures) expect(typeof get(result, f), f).toBe('number');
      for (const phase of ['during_drain', 'after_drain'])
        for (const kind of ['browser', 'committed'])
          expect(Object.keys(get(result, `latency.${kind}.${phase}`) as object).sort()).toEqual([
            'max_ms',
            'p50_ms',
            'p99_ms',
            'samples',
          ]);
      const processes = get(result, 'processes') as Record<string, Record<string, number | null>>;
      for (const name of [
        'mosquitto',
        'mariadb',
        'receiver-1',
        'receiver-2',
        'webadmin',
        'fleet',
        'device-sensor',
        'device-mqtthandler',
        'device-startstopbutton',
        'backlog-01-mqtthandler',
      ]) {
        expect(typeof processes[name]?.peak_rss_mb, name).toBe('number');
        expect(typeof processes[name]?.cpu_percent_during_drain, name).toBe('number');
        expect(typeof processes[name]?.run_queue_wait_ms_per_s_during_drain, name).toBe('number');
      }
      for (const name of ['receiver-1', 'receiver-2', 'webadmin', 'fleet', 'bench'])
        expect(get(result, `event_loop_lag.after_drain.${name}.samples`), name).toBeGreaterThan(0);
      // No ack timeout and no receiver (re)starting in this run: nothing has a reason to be sent twice.
      expect(get(result, 'drain.resent_readings')).toBe(0);
      const wire = get(result, 'wire') as Record<string, number | string | null>[];
      expect(wire.map((w) => w.batch_max)).toEqual([100, 1, 100]);
      expect(wire[0]!.readings_per_message).toBeGreaterThan(1);
      expect(wire[1]!.readings_per_message).toBe(1);
      for (const w of wire) expect(typeof w.up_bytes_per_reading).toBe('number');
      // The live phase's cost: live readings stored in it, CPU per 1,000 of them, MariaDB's counters.
      expect(get(result, 'after_drain_cost.live_readings')).toBeGreaterThan(0);
      for (const name of ['mariadb', 'receivers', 'webadmin', 'mosquitto'])
        expect(typeof get(result, `after_drain_cost.cpu_s_per_1000_live_readings.${name}`), name).toBe(
          'number',
        );
      expect(get(result, 'after_drain_cost.mariadb.status_deltas.Com_commit')).toBeGreaterThan(0);
      expect(get(result, 'after_drain_cost.mariadb.key_status_per_1000.Questions')).toBeGreaterThan(0);
    },
  );
});
