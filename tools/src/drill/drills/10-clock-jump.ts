import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { waitFor } from '../../harness/index.js';
import type { Drill } from '../drill.js';
import type { DrillSystem } from '../drill-system.js';
import { runFault, seconds } from '../drill-steps.js';
import { backSteps } from '../drill-verdict.js';

const HOUR = 3_600_000;
/** libfaketime from Debian's `faketime` (scripts/bootstrap.mjs installs it). */
const LIBFAKETIME = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib']
  .map((dir) => path.join(dir, 'faketime', 'libfaketime.so.1'))
  .find((file) => existsSync(file));

interface ClockJump {
  clockJumps?: number;
  lastClockJump?: { at: string; byMs: number };
}

const aboutAnHourBack = (byMs: unknown) => typeof byMs === 'number' && Math.abs(byMs + HOUR) < 2000;

/**
 * The device's wall clock set back an hour while it measures: its sensor and mqtthandler run under
 * libfaketime with a timestamp file (one clock per board, so both jump), its monotonic clock stays real.
 * Seqs must stay complete and in order, the jump must show in the device's reported state and in the web
 * admin's device detail, and MariaDB must keep the readings measured on the wrong clock.
 */
export const clockJump: Drill<DrillSystem> = {
  id: '10',
  name: 'device clock set back 1 h',
  quick: true,
  run: async (system, scale, log) => {
    if (!LIBFAKETIME) throw new Error('libfaketime not found: install Debian package faketime');
    const id = 'drill-clock';
    const dir = path.join(system.dir, 'devices', id);
    mkdirSync(dir, { recursive: true });
    const clockFile = path.join(dir, 'faketime');
    writeFileSync(clockFile, '+0\n');
    const onDeviceClock = {
      LD_PRELOAD: LIBFAKETIME,
      FAKETIME_TIMESTAMP_FILE: clockFile,
      FAKETIME_NO_CACHE: '1',
      FAKETIME_DONT_FAKE_MONOTONIC: '1',
    };
    const device = await system.addDevice(id, { sensorEnv: onDeviceClock, mqtthandlerEnv: onDeviceClock });
    const afterMs = scale.quick ? 5000 : 30_000;
    let seqAtJump = 0;
    let reported: ClockJump = {};
    try {
      return await runFault(
        system,
        {
          id: '10',
          name: `device clock set back 1 h (${seconds(afterMs)} on it)`,
          deviceIds: [id],
          with004: false,
          fromZero: true,
          leadMs: 5000,
          fault: async () => {
            seqAtJump = (await device.counters()).lastSeq;
            writeFileSync(clockFile, '-1h\n');
            device.clockOffsetMs = -HOUR;
          },
          faultMs: afterMs,
          // The clock stays behind (as after a bad NTP answer): the fault "ends" once the sensor reported it.
          heal: async () => {
            await waitFor('the sensor to report the jump', 30_000, async () => {
              reported = (await device.sensorStatus()) as ClockJump;
              return (reported.clockJumps ?? 0) >= 1;
            }).catch(() => undefined);
          },
          // measured_at of the readings after the jump is an hour off; the sensor's reported jump (wall
          // clock against its monotonic clock) puts it back on the device's monotonic timeline.
          liveLatency: async () => {
            const byMs = reported.lastClockJump?.byMs;
            if (typeof byMs !== 'number') return null;
            const [r] = (await system.db.query(
              `SELECT MAX(TIMESTAMPDIFF(MICROSECOND, measured_at, received_at)) / 1000 AS l
                 FROM sensorfleet.readings WHERE device_id = ? AND sensor = 'temperature' AND seq > ?`,
              [id, seqAtJump],
            )) as { l: number | string | null }[];
            return r?.l === null || r?.l === undefined ? null : Math.round(Number(r.l) + byMs);
          },
          checks: async (window) => {
            const produced = window.end!.counters.get(id)!.lastSeq;
            const rows = (
              (await system.db.query(
                `SELECT seq, TIMESTAMPDIFF(MICROSECOND, '2000-01-01', measured_at) DIV 1000 AS m,
                        TIMESTAMPDIFF(MICROSECOND, measured_at, received_at) DIV 1000 AS lag
                   FROM sensorfleet.readings WHERE device_id = ? AND sensor = 'temperature' AND seq <= ?
                  ORDER BY seq`,
                [id, produced],
              )) as { seq: number | bigint; m: number | bigint; lag: number | bigint }[]
            ).map((r) => ({ seq: Number(r.seq), m: Number(r.m), lag: Number(r.lag) }));
            const steps = backSteps(rows.map((r) => r.m));
            const jump = steps[0];
            const afterJump = jump ? rows.slice(jump.index) : [];
            const hourOld = afterJump.filter((r) => r.lag > HOUR - 5000).length;
            let apiJump: unknown;
            await waitFor('the web admin to show the jump', 30_000, async () => {
              const r = await system.api('GET', `/api/devices/${id}`);
              apiJump = (r.body as { state?: { sensor?: ClockJump } })?.state?.sensor?.lastClockJump?.byMs;
              return aboutAnHourBack(apiJump);
            }).catch(() => undefined);
            return [
              {
                ok:
                  steps.length === 1 &&
                  aboutAnHourBack(jump?.byMs) &&
                  rows[jump!.index]!.seq === seqAtJump + 1,
                note:
                  `measured_at by seq steps back ${steps.length} time(s)` +
                  (jump
                    ? `, by ${jump.byMs} ms between seq ${rows[jump.index - 1]!.seq} and ${rows[jump.index]!.seq}`
                    : '') +
                  ` (jump set after seq ${seqAtJump})`,
              },
              {
                ok: reported.clockJumps === 1 && aboutAnHourBack(reported.lastClockJump?.byMs),
                note: `sensor status: clockJumps ${String(reported.clockJumps)}, lastClockJump.byMs ${String(reported.lastClockJump?.byMs)}`,
              },
              {
                ok: aboutAnHourBack(apiJump),
                note: `web admin device detail state.sensor.lastClockJump.byMs = ${String(apiJump)}`,
              },
              {
                ok: afterJump.length > 0 && hourOld === afterJump.length && rows.length === produced,
                note: `${hourOld} of ${afterJump.length} readings after the jump stored with measured_at ~1 h before received_at (${rows.length}/${produced} stored)`,
              },
            ];
          },
          notes: [
            'recovery = the jump reported → backlog empty (the clock stays behind); max live ms = the largest ' +
              'received_at − measured_at of readings after the jump plus the reported jump (≈ +1 h): the ' +
              "latency on the device's monotonic timeline, since their measured_at is on the wrong clock",
          ],
        },
        log,
      );
    } finally {
      await system.removeDevice(id);
    }
  },
};
