/**
 * Source 004's topics (devices/{uuid}/data | status | heartbeat) turned into the parts of an IngestItem:
 * the normaliser (compat004-normaliser.ts, which also documents the formats and the synthetic seq used
 * for duplicates) does the format work; this adds what every reading gets here — plausibility, the time
 * window, derived values — and the registry changes 004 defines:
 *   data      → readings; latest value per sensor, location and upload time into last_report_data;
 *               a FULL message's `status` merged into last_report_data.status; online
 *   status    → merged into last_report_data.status; its `status` string becomes device_status
 *               ("offline" also clears online, anything else sets it)
 *   heartbeat → last_heartbeat_at; online
 * A message rejected as a whole changes nothing but last_seen (and the counters and message log).
 * 004 devices get no ack: they do not speak the ack protocol.
 */
import {
  normalise004Data,
  normalise004Heartbeat,
  normalise004Status,
  parseJson,
  type Rejection as Rejection004,
} from './full-format.js';
import type { IncomingReading, Rejection, RegistryUpdate } from '../ingest/ingest-item.js';
import { parseJsonLenient } from '../intake/lenient-json.js';
import { implausibility } from '../intake/plausibility.js';
import { EARLIEST_READING_MS } from '../intake/telemetry-validator.js';

export interface IntakeParts {
  readings: IncomingReading[];
  rejected: Rejection[];
  registry: RegistryUpdate[];
}

export interface Compat004Options {
  maxBytes: number;
  maxFutureMs: number;
  derive: (values: Record<string, number>) => Record<string, number>;
}

const whole = (reason: string, detail: string): IntakeParts => ({
  readings: [],
  rejected: [{ scope: 'message', reason, detail }],
  registry: [],
});

function tooBig(payload: Buffer, maxBytes: number): IntakeParts | undefined {
  return payload.length > maxBytes
    ? whole('oversized', `payload of ${payload.length} bytes exceeds the limit of ${maxBytes}`)
    : undefined;
}

/** A dropped location, status or unused timestamp is a field; everything else concerns a sample. */
function scopeOf(r: Rejection004): Rejection['scope'] {
  if (r.sensor !== undefined) return 'reading';
  if (r.reason === 'bad_location' || r.reason === 'bad_timestamp') return 'field';
  if (r.reason === 'schema' && r.detail.startsWith('"status"')) return 'field';
  return 'reading';
}

export function data004(
  deviceId: string,
  payload: Buffer,
  receivedAt: number,
  opts: Compat004Options,
): IntakeParts {
  const big = tooBig(payload, opts.maxBytes);
  if (big) return big;
  let parsed = parseJson(payload);
  if (!parsed.ok && /NaN|Infinity/.test(payload.toString('utf8'))) {
    parsed = parseJsonLenient(payload.toString('utf8'));
  }
  if (!parsed.ok) return whole('malformed_json', parsed.error);
  const result = normalise004Data(deviceId, parsed.value, new Date(receivedAt));
  const first = result.rejected[0];
  if (result.format === 'unknown' && first) return whole(first.reason, first.detail);
  if (result.samples.length === 0 && first?.reason === 'empty') return whole('empty', first.detail);

  const rejected: Rejection[] = result.rejected.map((r) => ({
    scope: scopeOf(r),
    reason: r.reason,
    detail: r.detail,
  }));
  const bySeq = new Map<number, Record<string, number>>();
  const sensors: Record<string, unknown> = {};
  for (const s of result.samples) {
    const ms = s.measuredAt.getTime();
    const at = s.measuredAt.toISOString();
    if (ms < EARLIEST_READING_MS || ms > receivedAt + opts.maxFutureMs) {
      rejected.push({
        scope: 'reading',
        reason: 'bad_timestamp',
        detail: `sensor ${s.sensor} at ${at} is outside 2000…now+${Math.round(opts.maxFutureMs / 60_000)} min`,
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
    report.upload_timestamp = new Date(receivedAt).toISOString();
    registry.push({ kind: 'report004', report });
  }
  if (result.status) registry.push({ kind: 'status004', status: result.status });
  return { readings, rejected, registry };
}

export function status004(payload: Buffer, maxBytes: number): IntakeParts {
  const big = tooBig(payload, maxBytes);
  if (big) return big;
  const s = normalise004Status(payload);
  if (!s.ok) return whole(s.rejection.reason, s.rejection.detail);
  const registry: RegistryUpdate[] = [
    { kind: 'online', online: s.deviceStatus?.toLowerCase() !== 'offline' },
    s.deviceStatus === undefined
      ? { kind: 'status004', status: s.status }
      : { kind: 'status004', status: s.status, deviceStatus: s.deviceStatus },
  ];
  return { readings: [], rejected: [], registry };
}

export function heartbeat004(payload: Buffer, maxBytes: number): IntakeParts {
  const big = tooBig(payload, maxBytes);
  if (big) return big;
  const h = normalise004Heartbeat(payload);
  if (!h.ok) return whole(h.rejection.reason, h.rejection.detail);
  return {
    readings: [],
    rejected: [],
    registry: [{ kind: 'heartbeat' }, { kind: 'online', online: true }],
  };
}
