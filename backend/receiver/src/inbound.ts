/**
 * What the receiver takes in: one IngestItem per MQTT message, built at the edge (message-intake.ts) and
 * written by one coalesced transaction (batch-writer.ts). Inside the receiver these types are trusted.
 */
import type { RegistryUpdate } from './registry-updates.js';

/** Topics the receiver handles; `data`, `status`, `heartbeat` are source 004's compatibility topics. */
export type InboundKind = 'telemetry' | 'state' | 'online' | 'data' | 'status' | 'heartbeat';

/**
 * Why something was rejected. Message scope: the whole message (nothing of it is used). Reading scope: one
 * reading (native) or one sample (004); the rest of the message is still used. Field scope: a part of a
 * 004 message that is not a reading (location, status, an unused timestamp) was dropped.
 *
 * Reasons (the `reason` label of the metrics): oversized, malformed_json, schema, unknown_version,
 * bad_topic, empty, bad_seq, duplicate_seq, bad_timestamp, bad_sensor_name, non_numeric_value,
 * non_finite_value, out_of_range, seq_conflict, duplicate (004: a sensor twice at one time), bad_location.
 */
export interface Rejection {
  scope: 'message' | 'reading' | 'field';
  reason: string;
  detail: string;
  /** Native telemetry: the seq to name in the ack's `rejected`. */
  seq?: number;
}

/** A reading that passed validation, ready to become rows. */
export interface IncomingReading {
  seq: number;
  /** Milliseconds since the epoch, truncated to whole ms (DATETIME(3)). */
  measuredMs: number;
  /** What the device sent: compared when the same seq arrives again (replay or seq conflict). */
  values: Record<string, number>;
  /** Computed here (heat_index, dew_point): stored under the same seq, never compared. */
  derived: Record<string, number>;
}

/**
 * How the source of a message learns that it is committed: the MQTT side's held PUBACK
 * (puback-after-commit.ts). Called once the message's transaction committed, or at once when there is
 * nothing to store.
 */
export interface Receipt {
  committed(): void;
}

export interface IngestItem {
  deviceId: string;
  kind: InboundKind;
  receivedAt: number;
  /** MQTT retained flag: a retained message is old news (it does not prove the device is there now). */
  retained: boolean;
  /** Size of the payload as received. */
  bytes: number;
  /** The payload for the message log (already cut to MESSAGE_LOG_PAYLOAD_BYTES); empty when not logged. */
  logPayload: Buffer;
  readings: IncomingReading[];
  rejected: Rejection[];
  registry: RegistryUpdate[];
  /** Native telemetry: the device waits for an ack on devices/{id}/ack. */
  acks: boolean;
  /** Told when the item is committed (set by whoever took the message in). */
  receipt?: Receipt | undefined;
}

/** Rows of a reading in `readings` (one per value, sent or derived); counted without a keys array. */
export function rowsOfReading(r: IncomingReading): number {
  let n = 0;
  for (const _ in r.values) n++;
  for (const _ in r.derived) n++;
  return n;
}

/** Rows of an item in `readings`. */
export function rowsOfItem(item: IngestItem): number {
  let n = 0;
  for (const r of item.readings) n += rowsOfReading(r);
  return n;
}
