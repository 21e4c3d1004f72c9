/**
 * Source 004's devices/{uuid}/data: one of two formats, FULL (full-format.ts) or SIMPLE (simple-format.ts).
 * A payload with a `sensors` key is FULL; any other JSON object is SIMPLE; anything else (array, string,
 * number, null) is rejected as a whole. What every reading gets here, as native telemetry does: the time
 * window, plausibility, derived values. The samples of one millisecond become one reading under the
 * synthetic seq of samples.ts. Registry (004's own): online; the latest value per sensor, location and
 * upload time into last_report_data; a FULL message's `status` merged into last_report_data.status.
 * A message rejected as a whole changes nothing but last_seen (and the counters and message log).
 * 004 devices get no ack: they do not speak the ack protocol.
 */
import type { IntakeParts, RegistryUpdate } from '../ingest/ingest-item.js';
import { implausibility } from '../intake/plausibility.js';
import { shown, timeWindowBreach } from '../intake/reading-rules.js';
import { normaliseFull } from './full-format.js';
import { isPlainObject, parse004, whole } from './payload.js';
import { normaliseSimple } from './simple-format.js';

export interface Compat004Options {
  maxBytes: number;
  maxFutureMs: number;
  derive: (values: Record<string, number>) => Record<string, number>;
}

export function data004(payload: Buffer, receivedAt: number, opts: Compat004Options): IntakeParts {
  const parsed = parse004(payload, opts.maxBytes);
  if (!parsed.ok) return whole(parsed.rejection);
  const json = parsed.value;
  if (!isPlainObject(json)) {
    return whole({
      scope: 'message',
      reason: 'schema',
      detail: `payload must be a JSON object (FULL {"sensors":[…]} or SIMPLE {"name":number}), got ${shown(json)}`,
    });
  }
  const received = new Date(receivedAt);
  const result = Object.hasOwn(json, 'sensors')
    ? normaliseFull(json, received)
    : normaliseSimple(json, received);
  const wholly = result.rejected.find((r) => r.scope === 'message');
  if (wholly) return whole(wholly);

  const rejected = result.rejected;
  const bySeq = new Map<number, Record<string, number>>();
  const sensors: Record<string, unknown> = {};
  for (const s of result.samples) {
    const ms = s.measuredAt.getTime();
    const at = s.measuredAt.toISOString();
    const when = timeWindowBreach(ms, receivedAt, opts.maxFutureMs);
    if (when) {
      rejected.push({
        scope: 'reading',
        reason: 'bad_timestamp',
        detail: `sensor ${s.sensor} at ${at} is ${when}`,
      });
      continue;
    }
    const why = implausibility(s.sensor, s.value);
    if (why) {
      rejected.push({ scope: 'reading', reason: 'out_of_range', detail: why });
      continue;
    }
    const values = bySeq.get(s.seq) ?? {};
    values[s.sensor] = s.value;
    bySeq.set(s.seq, values);
    sensors[s.sensor] = { value: s.value, unit: s.unit ?? '', timestamp: at };
  }
  const readings = [...bySeq].map(([seq, values]) => ({
    seq,
    measuredMs: seq,
    values,
    derived: opts.derive(values),
  }));

  const registry: RegistryUpdate[] = [{ kind: 'online', online: true }];
  const report: Record<string, unknown> = {};
  if (readings.length) report.sensors = sensors;
  if (result.location) report.location = result.location;
  if (Object.keys(report).length) {
    report.upload_timestamp = received.toISOString();
    registry.push({ kind: 'report004', report });
  }
  if (result.status) registry.push({ kind: 'status004', status: result.status });
  return { readings, rejected, registry };
}
