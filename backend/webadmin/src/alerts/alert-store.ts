import type {
  AlertKind,
  AlertListQuery,
  AlertSeverity,
  AlertState,
  AlertView,
} from '@sensorfleet/shared/schemas/alerts';
import type { Pool, PoolConnection } from 'mariadb';
import type { AlertSnapshot } from './alert-state-machine.js';

export interface AlertRow {
  id: number;
  rule_id: number;
  rule_name: string;
  kind: AlertKind;
  device_id: string;
  state: AlertState;
  severity: AlertSeverity;
  value: number | null;
  started_at: Date;
  fired_at: Date | null;
  resolved_at: Date | null;
  acked_by: string | null;
  acked_at: Date | null;
  resolved_while_offline: number;
  firing_notified: number;
  last_notified_at: Date | null;
  cancelled: number;
  updated_at: Date;
  sort_rank: number;
}

export const ALERT_COLUMNS =
  'id, rule_id, rule_name, kind, device_id, state, severity, value, started_at, fired_at, resolved_at,' +
  ' acked_by, acked_at, resolved_while_offline, firing_notified, last_notified_at, cancelled, updated_at, sort_rank';

export function alertView(r: AlertRow): AlertView {
  return {
    id: r.id,
    ruleId: r.rule_id,
    ruleName: r.rule_name,
    kind: r.kind,
    deviceId: r.device_id,
    state: r.state,
    severity: r.severity,
    value: r.value,
    startedAt: r.started_at.toISOString(),
    firedAt: r.fired_at?.toISOString() ?? null,
    resolvedAt: r.resolved_at?.toISOString() ?? null,
    ackedBy: r.acked_by,
    ackedAt: r.acked_at?.toISOString() ?? null,
    resolvedWhileOffline: r.resolved_while_offline === 1,
  };
}

export function snapshotOf(r: AlertRow): AlertSnapshot {
  return {
    id: r.id,
    state: r.state,
    startedAt: r.started_at.getTime(),
    firedAt: r.fired_at?.getTime() ?? null,
    resolvedAt: r.resolved_at?.getTime() ?? null,
    value: r.value,
    resolvedWhileOffline: r.resolved_while_offline === 1,
    firingNotified: r.firing_notified === 1,
    lastNotifiedAt: r.last_notified_at?.getTime() ?? null,
    ackedBy: r.acked_by,
    ackedAt: r.acked_at?.getTime() ?? null,
  };
}

/** The list order as one number (the API's `cursor`): rank first, then newest first within a rank. */
const RANK_SPAN = 1e15;
const cursorOf = (r: AlertRow) => String(r.sort_rank * RANK_SPAN + r.id);

const d = (ms: number | null) => (ms === null ? null : new Date(ms));

/** `alerts`: one row per episode of a (rule, device). */
export class AlertStore {
  constructor(private readonly pool: Pool) {}

  async get(id: number, db: Pool | PoolConnection = this.pool): Promise<AlertRow | undefined> {
    const rows = (await db.query(`SELECT ${ALERT_COLUMNS} FROM alerts WHERE id = ?`, [id])) as AlertRow[];
    return rows[0];
  }

  /** Firing first (critical, warning, info), then pending, then history; newest first within each. */
  async list(q: AlertListQuery): Promise<{ alerts: AlertView[]; next: string | null }> {
    const where: string[] = ['cancelled = 0'];
    const params: unknown[] = [];
    if (q.state === 'open') where.push("state IN ('pending', 'firing')");
    else if (q.state) {
      where.push('state = ?');
      params.push(q.state);
    }
    if (q.deviceId) {
      where.push('device_id = ?');
      params.push(q.deviceId);
    }
    if (q.ruleId) {
      where.push('rule_id = ?');
      params.push(q.ruleId);
    }
    if (q.cursor) {
      const c = Number(q.cursor);
      const rank = Math.floor(c / RANK_SPAN);
      where.push('(sort_rank > ? OR (sort_rank = ? AND id < ?))');
      params.push(rank, rank, c - rank * RANK_SPAN);
    }
    const limit = q.limit ?? 100;
    const rows = (await this.pool.query(
      `SELECT ${ALERT_COLUMNS} FROM alerts WHERE ${where.join(' AND ')}` +
        ' ORDER BY sort_rank, id DESC LIMIT ?',
      [...params, limit + 1],
    )) as AlertRow[];
    const page = rows.slice(0, limit);
    return {
      alerts: page.map(alertView),
      next: rows.length > limit && page.length ? cursorOf(page[page.length - 1]!) : null,
    };
  }

  /** Records who acknowledged an open or resolved alert (the first acknowledgement stays). */
  async acknowledge(id: number, who: string, at: Date): Promise<AlertRow | undefined> {
    await this.pool.query('UPDATE alerts SET acked_by = ?, acked_at = ? WHERE id = ? AND acked_by IS NULL', [
      who.slice(0, 64),
      at,
      id,
    ]);
    return this.get(id);
  }

  /** Rows changed at or after `since` (database time), for every replica's live feed. */
  async changedSince(since: Date, limit = 500): Promise<AlertRow[]> {
    return (await this.pool.query(
      `SELECT ${ALERT_COLUMNS} FROM alerts WHERE updated_at >= ? ORDER BY updated_at LIMIT ?`,
      [since, limit],
    )) as AlertRow[];
  }

  async now(): Promise<Date> {
    const [r] = (await this.pool.query('SELECT CURRENT_TIMESTAMP(3) AS now')) as { now: Date }[];
    return r?.now ?? new Date();
  }

  /** Open alerts of the given rules, in the evaluator's transaction. */
  static async openOf(conn: PoolConnection, ruleIds: number[]): Promise<AlertRow[]> {
    if (!ruleIds.length) return [];
    return (await conn.query(
      `SELECT ${ALERT_COLUMNS} FROM alerts WHERE state <> 'resolved' AND rule_id IN (${ruleIds.map(() => '?').join(',')})`,
      ruleIds,
    )) as AlertRow[];
  }

  /**
   * Writes a snapshot (insert when it has no id); returns the id. A cancelled pending alert becomes a
   * `cancelled` resolved row rather than disappearing, so every replica's live feed sees it end.
   */
  static async save(
    conn: PoolConnection,
    a: AlertSnapshot,
    meta: { ruleId: number; ruleName: string; kind: AlertKind; deviceId: string; severity: AlertSeverity },
    cancelled = false,
  ): Promise<number> {
    const fields = [
      cancelled ? 'resolved' : a.state,
      a.value,
      d(a.startedAt),
      d(a.firedAt),
      d(a.resolvedAt),
      a.resolvedWhileOffline ? 1 : 0,
      a.firingNotified ? 1 : 0,
      d(a.lastNotifiedAt),
      cancelled ? 1 : 0,
    ];
    if (a.id !== undefined) {
      await conn.query(
        'UPDATE alerts SET state = ?, value = ?, started_at = ?, fired_at = ?, resolved_at = ?,' +
          ' resolved_while_offline = ?, firing_notified = ?, last_notified_at = ?, cancelled = ? WHERE id = ?',
        [...fields, a.id],
      );
      return a.id;
    }
    const r = (await conn.query(
      'INSERT INTO alerts (state, value, started_at, fired_at, resolved_at, resolved_while_offline,' +
        ' firing_notified, last_notified_at, cancelled, rule_id, rule_name, kind, device_id, severity)' +
        ' VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)',
      [...fields, meta.ruleId, meta.ruleName, meta.kind, meta.deviceId, meta.severity],
    )) as { insertId: number };
    return Number(r.insertId);
  }

  /** Cancelled pending alerts older than `before` go: the live feeds have long seen them. */
  async purgeCancelled(before: Date): Promise<number> {
    const r = (await this.pool.query('DELETE FROM alerts WHERE cancelled = 1 AND updated_at < ? LIMIT 1000', [
      before,
    ])) as { affectedRows: number };
    return r.affectedRows;
  }
}
