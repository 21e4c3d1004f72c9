import { toRanges, type ProbeAnswer } from '@sensorfleet/shared';
import type { Pool } from 'mariadb';
import type { IngestItem, ProbedDropIn } from './ingest-item.js';

/** A stored reading as the probe query sees it: its seq and measurement time. */
export interface StoredReadingTime {
  seq: number;
  measuredMs: number;
}

/**
 * Which probed stubs the backend stores (same seq and measurement time) and which it does not. A seq
 * stored with another time is `unknown`: the dropped reading itself is not there. Pure.
 */
export function judgeProbe(
  stubs: readonly ProbedDropIn[],
  stored: readonly StoredReadingTime[],
): ProbeAnswer {
  const timeOf = new Map(stored.map((r) => [r.seq, r.measuredMs]));
  const yes: number[] = [];
  const no: number[] = [];
  for (const s of stubs) (timeOf.get(s.seq) === s.measuredMs ? yes : no).push(s.seq);
  return { stored: toRanges(yes), unknown: toRanges(no) };
}

/** The probes of a committed batch, per device (a device's stubs over all its items, each seq once). */
export function probesByDevice(items: readonly IngestItem[]): Map<string, ProbedDropIn[]> {
  const out = new Map<string, Map<number, ProbedDropIn>>();
  for (const item of items) {
    if (!item.probe?.length) continue;
    let d = out.get(item.deviceId);
    if (!d) out.set(item.deviceId, (d = new Map()));
    for (const p of item.probe) d.set(p.seq, p);
  }
  return new Map([...out].map(([id, d]) => [id, [...d.values()]]));
}

/**
 * Answers a device's probe from MariaDB: one primary-key read of the named seqs (a stub costs what an
 * index look-up costs; a probe is at most MAX_PROBED_DROPS stubs). Nothing is written.
 */
export function createProbeAnswerer(pool: Pool) {
  return async (deviceId: string, stubs: readonly ProbedDropIn[]): Promise<ProbeAnswer> => {
    if (!stubs.length) return { stored: [], unknown: [] };
    const rows = (await pool.query(
      'SELECT seq, MIN(measured_at) AS measured_at FROM readings WHERE device_id = ? AND seq IN (?) GROUP BY seq',
      [deviceId, stubs.map((s) => s.seq)],
    )) as { seq: number | bigint | string; measured_at: Date }[];
    return judgeProbe(
      stubs,
      rows.map((r) => ({ seq: Number(r.seq), measuredMs: r.measured_at.getTime() })),
    );
  };
}
