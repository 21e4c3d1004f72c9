import { sleep, waitFor } from '../../harness/index.js';
import type { Drill } from '../drill.js';
import type { DrillSystem } from '../drill-system.js';
import { runFault } from '../drill-steps.js';
import type { SourceAudit } from '../drill-verdict.js';

/** seq → measured_at of every reading of the device MariaDB holds (the temperature row stands for it). */
async function storedReadings(system: DrillSystem, id: string): Promise<Map<number, string>> {
  const rows = (await system.db.query(
    `SELECT seq, DATE_FORMAT(measured_at, '%Y-%m-%d %H:%i:%s.%f') AS at FROM sensorfleet.readings
      WHERE device_id = ? AND sensor = 'temperature'`,
    [id],
  )) as { seq: number | bigint; at: string }[];
  return new Map(rows.map((r) => [Number(r.seq), r.at]));
}

/**
 * The device Redis loses power (kill -9 under the power-cut shim: the AOF writes Redis had not fsynced
 * are gone, tools/src/harness/power-cut.ts) and comes back, on a fresh device with the given
 * `appendfsync`. The sensor keeps measuring into memory meanwhile and appends when Redis is back.
 *
 * With `always` nothing is lost. With `everysec` Redis comes back without the appends of up to a second
 * (the cut falls half a second after an fsync, so there always are some), its seq counter goes back,
 * and the sensor counts the appends lost (redisLostAppends). Most of them had already reached the
 * backend; the readings measured after the restart get the same seqs, the backend answers seq_conflict
 * and the mqtthandler renumbers them. Seqs then no longer count readings, so this drill audits readings:
 * taken (the sensor's counter) against distinct readings stored (by measurement time). It passes when
 * no more are missing than the device counted, that count is within a second of readings, the count is
 * exactly the missing readings plus the seq conflicts (each lost append either never reached MariaDB or
 * had, and its seq's new reading was renumbered), nothing is stored twice, no reading stored before the
 * cut was overwritten, and the web admin shows the count.
 */
function redisPowerCut(fsync: 'always' | 'everysec', id: string): Drill<DrillSystem> {
  return {
    id,
    name: `device Redis power cut (appendfsync ${fsync})`,
    quick: true,
    run: async (system, scale, log) => {
      const deviceId = `drill-pc-${fsync}`;
      const device = await system.addDevice(deviceId, { appendfsync: fsync, powerCut: true });
      const perSecond = 1000 / system.intervalMs;
      let before = new Map<number, string>();
      let counted = 0;
      let missing = 0;
      try {
        return await runFault(
          system,
          {
            id,
            name: `device Redis power cut, appendfsync ${fsync}`,
            deviceIds: [deviceId],
            with004: false,
            fromZero: true,
            // Up to a second of appends since the last fsync, plus one for serverCron's 100 ms step.
            allowedLoss: fsync === 'always' ? 0 : Math.ceil(perSecond) + 1,
            fault: async () => {
              if (fsync === 'everysec') {
                // Half a second after an fsync: with everysec the cut then always takes some appends.
                await device.redisServer.nextAofSync();
                await sleep(500);
              }
              before = await storedReadings(system, deviceId);
              await device.redisServer.powerCut();
            },
            faultMs: Math.min(scale.outageMs, 3000),
            heal: async () => {
              await device.redisServer.start();
            },
            audit: async (): Promise<SourceAudit[]> => {
              // Stop measuring, let the last readings through, then count readings, not seqs.
              await device.setMeasuring(false);
              await sleep(1000);
              await waitFor('the outbox empty', 60_000, async () => (await device.counters()).backlog === 0);
              const taken = await device.sensorMetric('sensorfleet_readings_taken_total');
              counted = (await device.counters()).redisLostAppends;
              const [r] = (await system.db.query(
                `SELECT COUNT(*) AS n, COUNT(DISTINCT measured_at) AS d FROM sensorfleet.readings
                  WHERE device_id = ? AND sensor = 'temperature'`,
                [deviceId],
              )) as { n: number | bigint; d: number | bigint }[];
              const stored = Number(r?.d ?? 0);
              missing = taken - stored;
              return [
                {
                  source: deviceId,
                  produced: taken,
                  stored,
                  // a reading stored under two seqs: the renumbering sent it twice
                  duplicated: Number(r?.n ?? 0) - stored,
                  missing: [],
                  countedLoss: counted,
                  countedIsBound: true,
                },
              ];
            },
            checks: async () => {
              const after = await storedReadings(system, deviceId);
              const changed = [...before].filter(([seq, at]) => after.get(seq) !== at).length;
              // The device state is published every 2 s: wait for one that has the count and the conflicts.
              let shown: unknown;
              let conflicts = 0;
              await waitFor('the web admin to show the loss', 30_000, async () => {
                const res = await system.api('GET', `/api/devices/${deviceId}`);
                const state = (
                  res.body as { state?: { sensor?: { redisLostAppends?: unknown }; seqConflicts?: unknown } }
                )?.state;
                shown = state?.sensor?.redisLostAppends ?? 0;
                conflicts = Number(state?.seqConflicts ?? 0);
                return shown === counted && missing + conflicts === counted;
              }).catch(() => undefined);
              const checks = [
                {
                  ok: changed === 0,
                  note: `${before.size} readings stored before the cut, ${changed} changed after it`,
                },
                {
                  ok: shown === counted,
                  note: `web admin device detail state.sensor.redisLostAppends = ${String(shown)} (device: ${counted})`,
                },
                {
                  // Each append Redis lost either never reached MariaDB (missing) or had, and then the
                  // reading that got its seq again was renumbered (a seq conflict): nothing unaccounted.
                  ok: missing + conflicts === counted,
                  note:
                    `Redis lost ${counted} append(s) = ${missing} reading(s) missing in MariaDB + ` +
                    `${conflicts} stored before the cut whose seq came again (seq conflicts, renumbered)`,
                },
              ];
              if (fsync === 'everysec')
                checks.push({ ok: counted > 0, note: `the power cut took ${counted} unsynced append(s)` });
              return checks;
            },
          },
          log,
        );
      } finally {
        await system.removeDevice(deviceId);
      }
    },
  };
}

export const redisKillAlways = redisPowerCut('always', '5a');
export const redisKillEverysec = redisPowerCut('everysec', '5b');
