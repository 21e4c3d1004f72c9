import {
  ackReason,
  SEQ_CONFLICT_REASON,
  toRanges,
  type Ack,
  type RejectedReading,
} from '@sensorfleet/shared';
import type { IngestItem, ReadingOutcome } from './ingest-item.js';

/**
 * One ack per device for everything of that device in a committed batch (native telemetry only):
 *  - `ranges`: seqs committed now or earlier (stored and duplicate readings);
 *  - `rejected`: invalid readings with their reason, and seq conflicts with reason `seq_conflict`;
 *  - `highestSeq`: when there are conflicts, the device's highest stored seq, so it re-appends the
 *    conflicting readings above it.
 * A seq that is both committed and in conflict within one batch (the device sent two different readings
 * under it) is reported as a conflict only: the device still holds the later one, and it must not be lost.
 */
export function buildAcks(
  items: readonly IngestItem[],
  outcomes: readonly (readonly ReadingOutcome[])[],
  highestSeq: ReadonlyMap<string, number>,
): Map<string, Ack> {
  const byDevice = new Map<
    string,
    { committed: number[]; rejected: RejectedReading[]; conflicts: Set<number> }
  >();
  items.forEach((item, i) => {
    if (!item.acks) return;
    let d = byDevice.get(item.deviceId);
    if (!d) {
      d = { committed: [], rejected: [], conflicts: new Set() };
      byDevice.set(item.deviceId, d);
    }
    const o = outcomes[i] ?? [];
    item.readings.forEach((r, j) => {
      if (o[j] === 'conflict') d.conflicts.add(r.seq);
      else d.committed.push(r.seq);
    });
    for (const rej of item.rejected) {
      if (rej.seq !== undefined) d.rejected.push({ seq: rej.seq, reason: ackReason(rej.reason, rej.detail) });
    }
  });
  const acks = new Map<string, Ack>();
  for (const [deviceId, d] of byDevice) {
    const conflicts = [...d.conflicts].sort((a, b) => a - b);
    const rejected = [...d.rejected, ...conflicts.map((seq) => ({ seq, reason: SEQ_CONFLICT_REASON }))];
    const ranges = toRanges(d.committed.filter((s) => !d.conflicts.has(s)));
    if (!ranges.length && !rejected.length) continue;
    const ack: Ack = { v: 1, ranges };
    if (rejected.length) ack.rejected = rejected;
    if (conflicts.length) ack.highestSeq = highestSeq.get(deviceId) ?? 0;
    acks.set(deviceId, ack);
  }
  return acks;
}
