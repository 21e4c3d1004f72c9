/**
 * The device registry (`devices`) as the receiver keeps it: what each message says about its device, and
 * how a batch of messages collapses into one row per device and statement (pure; the SQL is in
 * device-registry-writer.ts).
 *
 * Every update is written so that applying it again changes nothing: retained `online`/`state` messages
 * arrive again on every (re)subscribe, QoS 1 redelivers, and with a shared subscription two replicas may
 * apply one device's messages in either order. Times only move forward (GREATEST), a state replaces the
 * stored one only if it is at least as new (by its revision, else its own `ts`: state-order.ts), and
 * `online_changed_at` changes only when the flag does.
 */
import { sqlDateTime } from '../db/sql-time.js';
import type { IngestItem, ReadingOutcome } from './ingest-item.js';
import { isNewerState } from './state-order.js';

export interface TouchRow {
  id: string;
  firstSeen: string;
  /** Null when the device only spoke through retained messages in this batch (they are old news). */
  lastSeen: string | null;
  lastDataAt: string | null;
  lastSeq: number | null;
  protocol: 'native' | 'compat004' | null;
}

type TouchTimes = Omit<TouchRow, 'firstSeen' | 'lastSeen' | 'lastDataAt'> & {
  firstSeen: number;
  lastSeen: number | null;
  lastDataAt: number | null;
};

export interface RegistryPlan {
  touch: TouchRow[];
  online: { id: string; online: 0 | 1; at: string }[];
  state: { id: string; state: string; at: string }[];
  heartbeat: { id: string; at: string }[];
  /** Status merges must keep their order (a JSON merge patch may delete keys): round r = r-th per device. */
  statusRounds: { id: string; patch: string; deviceStatus: string | null; at: string }[][];
  report: { id: string; patch: string; at: string }[];
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Deep merge of plain objects built by the receiver (no nulls): later values win, objects merge. */
export function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] = isObject(prev) && isObject(v) ? deepMerge(prev, v) : v;
  }
  return out;
}

const byId = <T extends { id: string }>(rows: T[]): T[] => rows.sort((x, y) => (x.id < y.id ? -1 : 1));

/**
 * One batch's registry changes. `outcomes[i][j]` is what became of reading j of item i: readings that
 * conflict with stored ones are not data of this device (their seq is taken), so they move nothing.
 */
export function planRegistry(items: IngestItem[], outcomes: ReadingOutcome[][]): RegistryPlan {
  // Times stay numbers until the end: formatting per message and reading was a measurable cost.
  const touch = new Map<string, TouchTimes>();
  const online = new Map<string, { id: string; online: 0 | 1; at: string }>();
  const state = new Map<
    string,
    { id: string; state: Record<string, unknown>; at: number; rev?: number | undefined }
  >();
  const heartbeat = new Map<string, number>();
  const status = new Map<string, { patch: string; deviceStatus: string | null; at: string }[]>();
  const report = new Map<string, { report: Record<string, unknown>; atMs: number }>();

  items.forEach((item, i) => {
    const receivedAt = item.receivedAt;
    let t = touch.get(item.deviceId);
    if (!t) {
      t = {
        id: item.deviceId,
        firstSeen: receivedAt,
        lastSeen: null,
        lastDataAt: null,
        lastSeq: null,
        protocol: null,
      };
      touch.set(item.deviceId, t);
    }
    if (!item.retained) {
      if (t.lastSeen === null || receivedAt > t.lastSeen) t.lastSeen = receivedAt;
      t.protocol =
        item.kind === 'data' || item.kind === 'status' || item.kind === 'heartbeat' ? 'compat004' : 'native';
    }
    const itemOutcomes = outcomes[i];
    const readings = item.readings;
    for (let j = 0; j < readings.length; j++) {
      if (itemOutcomes?.[j] === 'conflict') continue;
      const r = readings[j]!;
      if (t.lastDataAt === null || r.measuredMs > t.lastDataAt) t.lastDataAt = r.measuredMs;
      if (item.kind === 'telemetry' && (t.lastSeq === null || r.seq > t.lastSeq)) t.lastSeq = r.seq;
    }
    if (!item.registry.length) return;
    const at = sqlDateTime(receivedAt);
    for (const u of item.registry) {
      switch (u.kind) {
        case 'online':
          online.set(item.deviceId, { id: item.deviceId, online: u.online ? 1 : 0, at });
          break;
        case 'state': {
          const prev = state.get(item.deviceId);
          if (!prev || isNewerState(u, prev))
            state.set(item.deviceId, { id: item.deviceId, state: u.state, at: u.at, rev: u.rev });
          break;
        }
        case 'heartbeat':
          heartbeat.set(item.deviceId, Math.max(heartbeat.get(item.deviceId) ?? 0, item.receivedAt));
          break;
        case 'status004': {
          const list = status.get(item.deviceId) ?? [];
          list.push({
            patch: JSON.stringify({ status: u.status }),
            deviceStatus: u.deviceStatus ?? null,
            at,
          });
          status.set(item.deviceId, list);
          break;
        }
        case 'report004': {
          const prev = report.get(item.deviceId);
          report.set(item.deviceId, {
            report: prev ? deepMerge(prev.report, u.report) : u.report,
            atMs: Math.max(prev?.atMs ?? 0, item.receivedAt),
          });
          break;
        }
      }
    }
  });

  const statusRounds: RegistryPlan['statusRounds'] = [];
  for (const [id, list] of status) {
    list.forEach((s, r) => (statusRounds[r] ??= []).push({ id, ...s }));
  }
  const formatted = (ms: number | null) => (ms === null ? null : sqlDateTime(ms));
  return {
    touch: byId(
      [...touch.values()].map((t) => ({
        ...t,
        firstSeen: sqlDateTime(t.firstSeen),
        lastSeen: formatted(t.lastSeen),
        lastDataAt: formatted(t.lastDataAt),
      })),
    ),
    online: byId([...online.values()]),
    state: byId(
      [...state.values()].map((s) => ({ id: s.id, state: JSON.stringify(s.state), at: sqlDateTime(s.at) })),
    ),
    heartbeat: byId([...heartbeat].map(([id, ms]) => ({ id, at: sqlDateTime(ms) }))),
    statusRounds: statusRounds.map(byId),
    report: byId(
      [...report].map(([id, r]) => ({ id, patch: JSON.stringify(r.report), at: sqlDateTime(r.atMs) })),
    ),
  };
}
