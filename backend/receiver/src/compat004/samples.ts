/*
 * A 004 sample (one sensor's value at one time) and the key it is stored under.
 *
 * DUPLICATES. 004's formats carry no sequence number, but `readings` is unique on (device_id, seq, sensor)
 * and QoS 1 redelivers messages. Each sample therefore gets a synthetic key: seq = measured_at in
 * milliseconds since the epoch. It is unique per device and sensor per millisecond, so an exact replay of a
 * timestamped message (QoS 1 redelivery, device retry) is stored once, like a replayed telemetry reading.
 * Trade-offs:
 *   - Two different messages with the same timestamp for the same sensor collapse into one row (the first
 *     stored wins with INSERT IGNORE); the same holds for one sensor named twice at the same time within one
 *     message, which is rejected here as 'duplicate' so the batch insert does not depend on that.
 *   - Messages without any timestamp (the SIMPLE format always; FULL without timestamps) are keyed by
 *     `receivedAt`, so a replay that arrives later (a redelivery after a receiver crash) is stored twice.
 *     Devices that need exactly-once should send timestamps (or use the native telemetry topic with seqs).
 *   - These seqs are epoch milliseconds (~1.7e12): the `seq` column must be BIGINT, and they are not
 *     contiguous, so seq-gap (data loss) detection does not apply to devices that speak 004's formats.
 *   - Derived values (heat_index, dew_point) share the seq of their inputs, so they are only computed for a
 *     temperature and a humidity measured at the same millisecond.
 */
import type { Rejection } from '../ingest/ingest-item.js';

export interface Sample004 {
  sensor: string;
  value: number;
  unit?: string;
  measuredAt: Date;
  /** Synthetic key for `readings`: measuredAt in ms since the epoch (see DUPLICATES above). */
  seq: number;
}

/** What a data message's format yields (full-format.ts, simple-format.ts). */
export interface Normalised004 {
  samples: Sample004[];
  /** Samples and fields rejected; a message-scope one rejects the whole message. */
  rejected: Rejection[];
  status?: Record<string, unknown>;
  location?: { latitude: number; longitude: number };
}

/** The samples of one message, keyed; a sensor's second value at the same millisecond is rejected. */
export class SampleCollector {
  readonly samples: Sample004[] = [];
  readonly rejected: Rejection[] = [];
  private readonly seen = new Set<string>();

  add(sample: Omit<Sample004, 'seq'>, where: string): void {
    const seq = sample.measuredAt.getTime();
    const key = `${sample.sensor}@${seq}`;
    if (this.seen.has(key)) {
      this.reject(
        'duplicate',
        `${where}: sensor ${sample.sensor} already has a value at ${sample.measuredAt.toISOString()} in this message; the first is kept`,
      );
      return;
    }
    this.seen.add(key);
    this.samples.push({ ...sample, seq });
  }

  /** A sample that is not used. */
  reject(reason: Rejection['reason'], detail: string): void {
    this.rejected.push({ scope: 'reading', reason, detail });
  }
}
