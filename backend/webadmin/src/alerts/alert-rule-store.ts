import type {
  AlertKind,
  AlertRuleView,
  AlertSeverity,
  AlertTarget,
  AlertTargetView,
} from '@sensorfleet/shared/schemas/alerts';
import type { Pool, PoolConnection } from 'mariadb';
import type { RuleDefinition } from './rule-validation.js';

export interface RuleRow {
  id: number;
  name: string;
  device_id: string | null;
  kind: AlertKind;
  sensor: string | null;
  threshold: number | null;
  clear_level: number | null;
  for_s: number;
  severity: AlertSeverity;
  targets: string;
  repeat_s: number | null;
  enabled: number;
  version: number;
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
  deleted_at: Date | null;
}

/** A rule as the evaluator uses it. */
export interface StoredRule extends RuleDefinition {
  id: number;
  version: number;
  deleted: boolean;
  createdBy: string | null;
  createdAt: Date;
  updatedAt: Date;
}

const COLUMNS =
  'id, name, device_id, kind, sensor, threshold, clear_level, for_s, severity, targets, repeat_s, enabled,' +
  ' version, created_by, created_at, updated_at, deleted_at';

export function storedRule(r: RuleRow): StoredRule {
  return {
    id: r.id,
    name: r.name,
    deviceId: r.device_id,
    kind: r.kind,
    sensor: r.sensor,
    threshold: r.threshold,
    clear: r.clear_level,
    forS: r.for_s,
    severity: r.severity,
    targets: JSON.parse(r.targets) as AlertTarget[],
    repeatS: r.repeat_s,
    enabled: r.enabled === 1,
    version: r.version,
    deleted: r.deleted_at !== null,
    createdBy: r.created_by,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** Webhook secrets never leave the server: the API says only that one is set. */
export function targetView(t: AlertTarget): AlertTargetView {
  return t.type === 'email' ? t : { type: 'webhook', url: t.url, secretSet: t.secret.length > 0 };
}

export function ruleView(r: StoredRule, openAlerts: number): AlertRuleView {
  return {
    id: r.id,
    name: r.name,
    deviceId: r.deviceId,
    kind: r.kind,
    sensor: r.sensor,
    threshold: r.threshold,
    clear: r.clear,
    forS: r.forS,
    severity: r.severity,
    targets: r.targets.map(targetView),
    repeatS: r.repeatS,
    enabled: r.enabled,
    createdBy: r.createdBy,
    createdAt: r.createdAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
    openAlerts,
  };
}

const values = (d: RuleDefinition) => [
  d.name,
  d.deviceId,
  d.kind,
  d.sensor,
  d.threshold,
  d.clear,
  d.forS,
  d.severity,
  JSON.stringify(d.targets),
  d.repeatS,
  d.enabled ? 1 : 0,
];

/**
 * `alert_rules`. A deleted rule keeps its row (deleted_at) until the evaluator has resolved its alerts;
 * the API no longer shows it. Every change bumps `version`, which tells the evaluator to re-judge.
 */
export class AlertRuleStore {
  constructor(private readonly pool: Pool) {}

  async list(opts: { includeDeleted?: boolean } = {}): Promise<StoredRule[]> {
    const rows = (await this.pool.query(
      `SELECT ${COLUMNS} FROM alert_rules${opts.includeDeleted ? '' : ' WHERE deleted_at IS NULL'} ORDER BY id`,
    )) as RuleRow[];
    return rows.map(storedRule);
  }

  async get(id: number, db: Pool | PoolConnection = this.pool): Promise<StoredRule | undefined> {
    const rows = (await db.query(`SELECT ${COLUMNS} FROM alert_rules WHERE id = ? AND deleted_at IS NULL`, [
      id,
    ])) as RuleRow[];
    return rows[0] && storedRule(rows[0]);
  }

  /** Pending or firing alerts per rule. */
  async openCounts(ids?: number[]): Promise<Map<number, number>> {
    if (ids && !ids.length) return new Map();
    const rows = (await this.pool.query(
      "SELECT rule_id, COUNT(*) AS n FROM alerts WHERE state <> 'resolved'" +
        (ids ? ` AND rule_id IN (${ids.map(() => '?').join(',')})` : '') +
        ' GROUP BY rule_id',
      ids ?? [],
    )) as { rule_id: number; n: number }[];
    return new Map(rows.map((r) => [r.rule_id, Number(r.n)]));
  }

  async create(d: RuleDefinition, by: string, at = new Date()): Promise<number> {
    const r = (await this.pool.query(
      'INSERT INTO alert_rules (name, device_id, kind, sensor, threshold, clear_level, for_s, severity, targets,' +
        ' repeat_s, enabled, created_by, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)',
      [...values(d), by, at, at],
    )) as { insertId: number };
    return Number(r.insertId);
  }

  async update(id: number, d: RuleDefinition, at = new Date()): Promise<boolean> {
    const r = (await this.pool.query(
      'UPDATE alert_rules SET name = ?, device_id = ?, kind = ?, sensor = ?, threshold = ?, clear_level = ?,' +
        ' for_s = ?, severity = ?, targets = ?, repeat_s = ?, enabled = ?, version = version + 1, updated_at = ?' +
        ' WHERE id = ? AND deleted_at IS NULL',
      [...values(d), at, id],
    )) as { affectedRows: number };
    return r.affectedRows > 0;
  }

  async remove(id: number, at = new Date()): Promise<boolean> {
    const r = (await this.pool.query(
      'UPDATE alert_rules SET deleted_at = ?, version = version + 1, updated_at = ? WHERE id = ? AND deleted_at IS NULL',
      [at, at, id],
    )) as { affectedRows: number };
    return r.affectedRows > 0;
  }
}
