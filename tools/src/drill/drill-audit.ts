import { sleep, waitFor } from '../harness/index.js';
import type { Compat004Publisher } from './compat004-publisher.js';
import type { DeviceCounters, DrillDevice } from './drill-device.js';
import { missingSeqs, type SourceAudit } from './drill-verdict.js';

interface Mark {
  counters: Map<string, DeviceCounters>;
  sent004: number;
}

/** A drill's window: what every source had produced and counted at its start and its end. */
export interface DrillWindow {
  /** The native devices audited (default all). */
  deviceIds: string[];
  with004: boolean;
  start: Mark;
  end?: Mark;
}

/** What a drill needs of a system to measure it: the sources and a way to ask MariaDB. */
export interface AuditSources {
  /** One statement on the database that holds `sensorfleet.readings` (any node of a cluster). */
  query(sql: string, params?: unknown[]): Promise<unknown>;
  /** The devices running now (drills add and remove some). */
  devices(): readonly DrillDevice[];
  compat004(): Compat004Publisher | undefined;
}

/** The measuring side of a drill system, as fault steps (drill-steps.ts) use it. */
export type DrillTarget = Pick<
  DrillAudit,
  'openWindow' | 'closeWindow' | 'waitForDrain' | 'audit' | 'maxLiveLatencyMs'
>;

/**
 * What the devices produced against what MariaDB stored, for any drill system (the single machine one in
 * drill-system.ts, the scale-out cluster in cluster-system.ts): windows over every source's counters, the
 * wait until the backlogs are gone, the audit per source and the live latency during a recovery.
 */
export class DrillAudit {
  constructor(private readonly sources: AuditSources) {}

  private device(id: string): DrillDevice {
    const d = this.sources.devices().find((x) => x.id === id);
    if (!d) throw new Error(`no device ${id}`);
    return d;
  }

  private async mark(ids: string[]): Promise<Mark> {
    const counters = new Map<string, DeviceCounters>();
    await Promise.all(ids.map(async (id) => counters.set(id, await this.device(id).counters())));
    return { counters, sent004: this.sources.compat004()?.sent ?? 0 };
  }

  /** Opens a drill's window: from now on, what the sources produce must reach MariaDB. */
  async openWindow(opts: { deviceIds?: string[]; with004?: boolean } = {}): Promise<DrillWindow> {
    const deviceIds = opts.deviceIds ?? this.sources.devices().map((d) => d.id);
    const with004 = (opts.with004 ?? true) && this.sources.compat004() !== undefined;
    return { deviceIds, with004, start: await this.mark(deviceIds) };
  }

  async closeWindow(window: DrillWindow): Promise<void> {
    window.end = await this.mark(window.deviceIds);
  }

  private async storedSeqs(deviceId: string, from: number, to: number): Promise<number[]> {
    const rows = (await this.sources.query(
      `SELECT DISTINCT seq FROM sensorfleet.readings WHERE device_id = ? AND seq > ? AND seq <= ?`,
      [deviceId, from, to],
    )) as { seq: number | bigint }[];
    return rows.map((r) => Number(r.seq));
  }

  /** Rows beyond one per (seq, sensor): would find a double insert if the key ever allowed one. */
  private async duplicateRows(deviceId: string, from: number, to: number): Promise<number> {
    const [r] = (await this.sources.query(
      `SELECT COUNT(*) - COUNT(DISTINCT seq, sensor) AS d FROM sensorfleet.readings
        WHERE device_id = ? AND seq > ? AND seq <= ?`,
      [deviceId, from, to],
    )) as { d: number | bigint }[];
    return Number(r?.d ?? 0);
  }

  /**
   * Waits until every device's backlog is empty (nothing older than 2 s left in an outbox: the live
   * reading in flight is not backlog) and the 004 publisher's window is stored; returns ms since `sinceMs`.
   */
  async waitForDrain(sinceMs: number, window?: DrillWindow, timeoutMs = 600_000): Promise<number> {
    let drainedAt = 0;
    await waitFor(
      'every outbox drained',
      timeoutMs,
      async () => {
        const now = Date.now();
        const devices = this.sources.devices();
        const all = await Promise.all(devices.map((d) => d.counters().catch(() => undefined)));
        const busy = all.filter(
          // A device whose clock is set off (drill 10) dates its readings by that clock.
          (c, i) =>
            c === undefined ||
            (c.backlog > 0 && now + devices[i]!.clockOffsetMs - Date.parse(c.oldestTs ?? '') > 2000),
        ).length;
        if (busy > 0) return `${busy} device(s) still have a backlog`;
        if (window?.with004 && window.end) {
          const want = window.end.sent004 - window.start.sent004;
          const got = await this.stored004(window).catch(() => -1);
          if (got < want) return `004: ${got}/${want} stored`;
        }
        drainedAt = now;
        return true;
      },
      200,
    );
    return drainedAt - sinceMs;
  }

  private async stored004(window: DrillWindow): Promise<number> {
    const p = this.sources.compat004()!;
    const [r] = (await this.sources.query(
      `SELECT COUNT(DISTINCT seq) AS n FROM sensorfleet.readings WHERE device_id = ? AND seq >= ? AND seq < ?`,
      [p.id, p.seqOf(window.start.sent004), p.seqOf(window.end!.sent004)],
    )) as { n: number | bigint }[];
    return Number(r?.n ?? 0);
  }

  /**
   * Largest measured → committed latency (received_at is set by the insert) of native readings measured
   * between `fromMs` and `toMs`: how live data fared while the backlog was replayed.
   */
  async maxLiveLatencyMs(fromMs: number, toMs: number): Promise<number | null> {
    const ids = this.sources.devices().map((d) => d.id);
    const [r] = (await this.sources.query(
      `SELECT MAX(TIMESTAMPDIFF(MICROSECOND, measured_at, received_at)) / 1000 AS l FROM sensorfleet.readings
        WHERE device_id IN (${ids.map(() => '?').join(',')}) AND sensor = 'temperature'
          AND measured_at >= ? AND measured_at <= ?`,
      [...ids, new Date(fromMs), new Date(toMs)],
    )) as { l: number | string | null }[];
    return r?.l === null || r?.l === undefined ? null : Math.round(Number(r.l));
  }

  /**
   * Per source in the window: produced (the device's seq counter; messages the broker PUBACKed for 004),
   * stored distinct seqs, duplicate rows, the first missing seqs and the loss the device counted. Waits
   * (up to `settleMs`) until everything in the window left the outboxes and the stored count is stable.
   */
  async audit(window: DrillWindow, settleMs = 120_000): Promise<SourceAudit[]> {
    if (!window.end) await this.closeWindow(window);
    const end = window.end!;
    // Everything of the window acked (gone from the outbox), the 004 window stored or its count still
    // for 5 s (those devices never resend: what is missing then stays missing); then two equal counts.
    let last004 = -1;
    let last004At = Date.now();
    await waitFor(
      "the window's readings acknowledged",
      settleMs,
      async () => {
        for (const id of window.deviceIds) {
          const c = await this.device(id).counters();
          const last = end.counters.get(id)!.lastSeq;
          if (c.backlog > 0 && c.oldestSeq !== undefined && c.oldestSeq <= last)
            return `${id}: seq ${c.oldestSeq} not acknowledged yet`;
          if (c.dropsUnconfirmed > 0) return `${id}: ${c.dropsUnconfirmed} dropped readings not settled yet`;
        }
        if (window.with004) {
          const want = end.sent004 - window.start.sent004;
          const got = await this.stored004(window);
          if (got !== last004) [last004, last004At] = [got, Date.now()];
          if (got < want && Date.now() - last004At < 5000) return `004: ${got}/${want} stored`;
        }
        return true;
      },
      250,
    ).catch(() => undefined); // what is still missing then is reported as lost
    let previous = '';
    let audits: SourceAudit[] = [];
    for (let i = 0; i < 20; i++) {
      audits = await this.auditOnce(window);
      const key = JSON.stringify(audits.map((a) => a.stored));
      if (key === previous) break;
      previous = key;
      await sleep(1000);
    }
    return audits;
  }

  private async auditOnce(window: DrillWindow): Promise<SourceAudit[]> {
    const end = window.end!;
    const out: SourceAudit[] = [];
    for (const id of window.deviceIds) {
      const a = window.start.counters.get(id)!;
      const b = end.counters.get(id)!;
      const seqs = await this.storedSeqs(id, a.lastSeq, b.lastSeq);
      // A drop of a sent reading is counted only when the backend has said it lacks it, which may be after
      // the window closed: the count as of now (drops happen oldest first, so a later one of a reading
      // after the window would need the window's readings all gone first, and they are settled by now).
      const dropped = (
        await this.device(id)
          .counters()
          .catch(() => b)
      ).dropped;
      out.push({
        source: id,
        produced: b.lastSeq - a.lastSeq,
        stored: seqs.length,
        duplicated: await this.duplicateRows(id, a.lastSeq, b.lastSeq),
        missing: missingSeqs(a.lastSeq, b.lastSeq, seqs),
        countedLoss: dropped - a.dropped + (b.redisLostAppends - a.redisLostAppends),
      });
    }
    const p = this.sources.compat004();
    if (window.with004 && p) {
      const from = p.seqOf(window.start.sent004);
      const to = p.seqOf(end.sent004);
      const rows = (await this.sources.query(
        `SELECT DISTINCT seq FROM sensorfleet.readings WHERE device_id = ? AND seq >= ? AND seq < ?`,
        [p.id, from, to],
      )) as { seq: number | bigint }[];
      const have = new Set(rows.map((r) => Number(r.seq)));
      const missing: number[] = [];
      for (let i = window.start.sent004; i < end.sent004 && missing.length < 1000; i++)
        if (!have.has(p.seqOf(i))) missing.push(p.seqOf(i));
      out.push({
        source: `${p.id} (004)`,
        produced: end.sent004 - window.start.sent004,
        stored: have.size,
        duplicated: await this.duplicateRows(p.id, from - 1, to - 1),
        missing,
        countedLoss: 0,
        compat004: true,
      });
    }
    return out;
  }
}
