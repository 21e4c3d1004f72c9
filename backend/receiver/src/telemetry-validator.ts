import {
  createDecoder,
  Reading,
  TelemetryEnvelope,
  type DecodeFailure,
  type RejectedReading,
} from '@sensorfleet/shared';

export type MessageRejectReason = DecodeFailure | 'bad_topic';

export type ValidatedTelemetry =
  | { ok: true; readings: Reading[]; rejected: RejectedReading[] }
  | { ok: false; reason: MessageRejectReason; error: string };

const readingDecoder = createDecoder(Reading);

/**
 * Checks a telemetry message at the edge. The envelope must be valid as a whole; readings are checked one
 * by one so that one bad reading is rejected (and acked as rejected, with its reason) while the rest of
 * the batch is stored. A reading whose seq cannot be read cannot be acked either: it is reported in the
 * message-level error so it shows up in logs and metrics.
 */
export function createTelemetryValidator(maxBytes: number) {
  const envelope = createDecoder(TelemetryEnvelope, { maxBytes });
  return (payload: Buffer): ValidatedTelemetry => {
    const decoded = envelope.decode(payload);
    if (!decoded.ok) return decoded;
    const readings: Reading[] = [];
    const rejected: RejectedReading[] = [];
    const seen = new Set<number>();
    for (const raw of decoded.value.readings) {
      const r = readingDecoder.check(raw);
      if (r.ok) {
        if (!seen.has(r.value.seq)) readings.push(r.value);
        seen.add(r.value.seq);
        continue;
      }
      const seq = (raw as { seq?: unknown } | null)?.seq;
      if (typeof seq === 'number' && Number.isSafeInteger(seq) && seq >= 1) {
        rejected.push({ seq, reason: r.error });
      } else {
        return { ok: false, reason: 'schema', error: `reading without a valid seq: ${r.error}` };
      }
    }
    return { ok: true, readings, rejected };
  };
}
