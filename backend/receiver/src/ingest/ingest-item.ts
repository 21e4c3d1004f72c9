/**
 * What the receiver takes in and what becomes of it: one IngestItem per MQTT message, built at the edge
 * (intake/message-intake.ts) and written by one coalesced transaction (batch-writer.ts). Inside the
 * receiver these types are trusted.
 */
import type { RejectionReason, RejectionScope } from '@sensorfleet/shared';

/** Topics the receiver handles; `data`, `status`, `heartbeat` are source 004's compatibility topics. */
export type InboundKind = 'telemetry' | 'state' | 'online' | 'data' | 'status' | 'heartbeat';

/** Why something was rejected: a reason and scope of the shared catalogue (rejection-reasons.ts). */
export interface Rejection {
  scope: RejectionScope;
  reason: RejectionReason;
  /** For people (logs, the message log, the ack): where in the message, and what was wrong. */
  detail: string;
  /** Native telemetry: the seq to name in the ack's `rejected`. */
  seq?: number;
}

/**
 * What a message says about its device, applied to the `devices` table in the ingest transaction
 * (registry-updates.ts plans it, device-registry-writer.ts writes it).
 */
export type RegistryUpdate =
  /** devices/{id}/online (native, retained + will), or 004 heartbeat/data/status implying it. */
  | { kind: 'online'; online: boolean }
  /**
   * devices/{id}/state (native, retained): the ReportedState as sent; `at` is its own `ts`, `rev` its
   * revision when the device sends one (state-order.ts).
   */
  | { kind: 'state'; state: Record<string, unknown>; at: number; rev?: number }
  /** 004 devices/{id}/heartbeat. */
  | { kind: 'heartbeat' }
  /** 004 status, or the `status` of a FULL data message: merged into last_report_data.status. */
  | { kind: 'status004'; status: Record<string, unknown>; deviceStatus?: string }
  /** 004 data: latest value per sensor, location, upload time, deep-merged into last_report_data. */
  | { kind: 'report004'; report: Record<string, unknown> };

/**
 * What became of a valid reading in its batch (reading-plan.ts decides): stored by it, a duplicate of one
 * already stored (a replay), or in conflict with a different reading stored under its seq.
 */
export type ReadingOutcome = 'stored' | 'duplicate' | 'conflict';

/**
 * A stub of a telemetry `probe`: a reading the device's outbox dropped after sending it. The receiver
 * answers whether it stores seq with this measurement time; it stores nothing from it.
 */
export interface ProbedDropIn {
  seq: number;
  /** As Date.parse gives it (DATETIME(3) keeps whole ms). */
  measuredMs: number;
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
 * (intake/puback-after-commit.ts). Called once the message's transaction committed, or at once when there
 * is nothing to store.
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
  /** Native telemetry: dropped readings the device asks about (answered in the ack after the commit). */
  probe?: ProbedDropIn[] | undefined;
  /** Told when the item is committed (set by whoever took the message in). */
  receipt?: Receipt | undefined;
}

/** What the intake makes of a payload: the parts of an IngestItem that depend on it. */
export type IntakeParts = Pick<IngestItem, 'readings' | 'rejected' | 'registry' | 'probe'>;

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
