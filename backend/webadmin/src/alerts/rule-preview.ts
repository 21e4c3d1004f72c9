import type { AlertRulePreview } from '@sensorfleet/shared/schemas/alerts';
import type { Pool } from 'mariadb';
import { isSensorKind, judgeSamples, type Sample } from './alert-state-machine.js';
import type { RuleDefinition } from './rule-validation.js';

/**
 * How often a rule would have fired over the last `hours`, per device, replayed through the same state
 * machine on the `readings_1m` rollup: each minute counts as its maximum (above) or minimum (below) at the
 * minute's start. Breaches shorter than a minute may hide or merge; device-level kinds cannot be replayed
 * from rollups at all (`supported: false`).
 */
export async function previewRule(
  pool: Pool,
  rule: RuleDefinition,
  hours: number,
): Promise<AlertRulePreview> {
  const base = { hours, resolution: '1m' };
  if (!isSensorKind(rule.kind) || !rule.sensor) return { ...base, fired: 0, devices: [], supported: false };
  const params: unknown[] = [rule.sensor, new Date(Date.now() - hours * 3_600_000)];
  let scope = '';
  if (rule.deviceId) {
    scope = ' AND device_id = ?';
    params.push(rule.deviceId);
  }
  const rows = (await pool.query(
    `SELECT device_id, bucket, ${rule.kind === 'below' ? 'min_value' : 'max_value'} AS v FROM readings_1m` +
      ` WHERE sensor = ? AND bucket >= ?${scope} ORDER BY device_id, bucket LIMIT 2000000`,
    params,
  )) as { device_id: string; bucket: Date; v: number }[];
  const byDevice = new Map<string, Sample[]>();
  for (const r of rows) {
    const list = byDevice.get(r.device_id) ?? [];
    list.push({ at: r.bucket.getTime(), value: r.v, late: false });
    byDevice.set(r.device_id, list);
  }
  const machine = { ...rule, repeatS: null };
  const devices: AlertRulePreview['devices'] = [];
  for (const [deviceId, samples] of byDevice) {
    const j = judgeSamples(machine, null, samples, Date.now());
    const fired = j.outcomes.filter((o) => o.alert.firedAt !== null).length;
    if (fired) devices.push({ deviceId, fired });
  }
  devices.sort((a, b) => b.fired - a.fired || a.deviceId.localeCompare(b.deviceId));
  return { ...base, fired: devices.reduce((n, d) => n + d.fired, 0), devices, supported: true };
}
