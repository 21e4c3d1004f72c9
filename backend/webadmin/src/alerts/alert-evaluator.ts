import type { Logger } from '@sensorfleet/shared';
import { withTransaction } from '@sensorfleet/mariadb';
import type { Pool, PoolConnection } from 'mariadb';
import { devicePageUrl } from './alert-message.js';
import { storedRule, type RuleRow, type StoredRule } from './alert-rule-store.js';
import {
  isSensorKind,
  judgeObservation,
  judgeReplay,
  judgeRuleChange,
  judgeSamples,
  judgeTick,
  type AlertSnapshot,
  type Judgement,
  type MachineRule,
  type Observation,
  type Sample,
} from './alert-state-machine.js';
import { AlertStore, snapshotOf, type AlertRow } from './alert-store.js';
import { enqueueNotifications } from './notification-outbox.js';

/** A reading that reached the database this long after it was measured came from a device's backlog. */
export const LATE_AFTER_MS = 60_000;
/** A transaction may commit a little after the received_at it wrote: each round reads this far back. */
const OVERLAP_MS = 5000;
/** Where the very first round starts reading. */
const FIRST_LOOKBACK_MS = 60_000;
/** Replayed readings are judged with this much stored context before them. */
const REPLAY_CONTEXT_MS = 15 * 60_000;
const MAX_ROWS_PER_ROUND = 50_000;

interface ReadingRow {
  device_id: string;
  seq: number;
  sensor: string;
  value: number;
  measured_at: Date;
  received_at: Date;
}

interface EvalStateRow {
  rule_id: number;
  device_id: string;
  rule_version: number;
  cursor_at: Date | null;
  cursor_seq: number | null;
}

interface DeviceRow {
  id: string;
  online: number;
  online_changed_at: Date | null;
  first_seen: Date | null;
  last_seen: Date | null;
  last_data_at: Date | null;
  backlog: number | null;
}

export interface RoundResult {
  /** False when another replica held the evaluator lock. */
  evaluated: boolean;
  changes: number;
  notifications: number;
}

const spec = (r: StoredRule): MachineRule => ({
  kind: r.kind,
  threshold: r.threshold,
  clear: r.clear,
  forS: r.forS,
  repeatS: r.repeatS,
});
const keyOf = (ruleId: number, deviceId: string) => `${ruleId}\u0000${deviceId}`;
const sampleOf = (r: { value: number; measured_at: Date; received_at: Date }): Sample => ({
  at: r.measured_at.getTime(),
  value: r.value,
  late: r.received_at.getTime() - r.measured_at.getTime() > LATE_AFTER_MS,
});
const after = (r: { measured_at: Date; seq: number }, c: EvalStateRow | undefined) =>
  !c?.cursor_at ||
  r.measured_at.getTime() > c.cursor_at.getTime() ||
  (r.measured_at.getTime() === c.cursor_at.getTime() && r.seq > (c.cursor_seq ?? 0));

/**
 * Judges every alert rule every ALERT_EVAL_INTERVAL_MS from committed data: readings by arrival (so a
 * replayed backlog is seen, and judged at its measured time), the devices' online flag, last data and
 * reported backlog. Each round is one transaction that starts by locking the single `alert_evaluator` row
 * (SKIP LOCKED): exactly one replica evaluates at a time, and everything a round decides — alert rows,
 * cursors, outbox notifications — commits together or not at all, so a restart neither forgets nor repeats.
 *
 * Rule changes: an edited rule's open alerts are judged again under the new rule (its newest value for
 * above/below) and resolve, with the usual notification, if the condition no longer holds; a deleted or
 * disabled rule, or one whose kind or device changed, resolves its open alerts.
 */
export class AlertEvaluator {
  readonly name = 'alert-evaluator';
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;

  constructor(
    private readonly deps: {
      pool: Pool;
      log: Logger;
      intervalMs: number;
      publicUrl: string | undefined;
      onRound?: (seconds: number) => void;
      onNotifications?: (n: number) => void;
    },
  ) {}

  async start(): Promise<void> {
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.loop(), ms);
  }

  private async loop(): Promise<void> {
    const t0 = performance.now();
    this.running = this.runOnce()
      .then((r) => {
        if (r.evaluated) this.deps.onRound?.((performance.now() - t0) / 1000);
        if (r.notifications) this.deps.onNotifications?.(r.notifications);
      })
      .catch((err: unknown) => this.deps.log.warn({ err }, 'alert evaluation failed; retrying'));
    await this.running;
    this.running = undefined;
    this.schedule(this.deps.intervalMs);
  }

  async runOnce(): Promise<RoundResult> {
    return withTransaction(this.deps.pool, async (conn) => {
      const lock = (await conn.query(
        'SELECT received_watermark, CURRENT_TIMESTAMP(3) AS now FROM alert_evaluator WHERE id = 1 FOR UPDATE SKIP LOCKED',
      )) as { received_watermark: Date | null; now: Date }[];
      if (!lock.length) {
        await conn.rollback();
        return { evaluated: false, changes: 0, notifications: 0 };
      }
      const round = new Round(conn, lock[0]!.now.getTime(), this.deps.publicUrl);
      const watermark = await round.run(lock[0]!.received_watermark);
      await conn.query('UPDATE alert_evaluator SET received_watermark = ?, last_round_at = ? WHERE id = 1', [
        watermark,
        lock[0]!.now,
      ]);
      return { evaluated: true, changes: round.changes, notifications: round.notifications };
    });
  }
}

/** One evaluation round inside the evaluator's transaction. */
class Round {
  changes = 0;
  notifications = 0;
  private rules = new Map<number, StoredRule>();
  private open = new Map<string, AlertSnapshot>();
  private openRule = new Map<string, { ruleId: number; deviceId: string }>();
  private states = new Map<string, EvalStateRow>();
  private touched = new Set<string>();

  constructor(
    private readonly conn: PoolConnection,
    private readonly now: number,
    private readonly publicUrl: string | undefined,
  ) {}

  async run(watermark: Date | null): Promise<Date> {
    const ruleRows = (await this.conn.query(
      'SELECT id, name, device_id, kind, sensor, threshold, clear_level, for_s, severity, targets, repeat_s,' +
        ' enabled, version, created_by, created_at, updated_at, deleted_at FROM alert_rules',
    )) as RuleRow[];
    for (const r of ruleRows) this.rules.set(r.id, storedRule(r));
    const openRows = (await this.conn.query("SELECT * FROM alerts WHERE state <> 'resolved'")) as AlertRow[];
    for (const a of openRows) {
      this.open.set(keyOf(a.rule_id, a.device_id), snapshotOf(a));
      this.openRule.set(keyOf(a.rule_id, a.device_id), { ruleId: a.rule_id, deviceId: a.device_id });
    }
    const stateRows = (await this.conn.query('SELECT * FROM alert_eval_state')) as EvalStateRow[];
    for (const s of stateRows) this.states.set(keyOf(s.rule_id, s.device_id), s);

    await this.ruleChanges(openRows);
    const live = [...this.rules.values()].filter((r) => r.enabled && !r.deleted);
    const from = new Date((watermark?.getTime() ?? this.now - FIRST_LOOKBACK_MS) - OVERLAP_MS);
    let next = new Date(this.now);
    const sensorRules = live.filter((r) => isSensorKind(r.kind));
    if (sensorRules.length) next = await this.sensorRules(sensorRules, from);
    const deviceRules = live.filter((r) => !isSensorKind(r.kind));
    if (deviceRules.length) await this.deviceRules(deviceRules, from);
    // Repeats of firing alerts nothing else touched this round.
    for (const [key, snap] of [...this.open]) {
      if (this.touched.has(key) || snap.state !== 'firing') continue;
      const { ruleId, deviceId } = this.openRule.get(key)!;
      const rule = this.rules.get(ruleId);
      if (rule) await this.apply(rule, deviceId, judgeTick(spec(rule), snap, this.now));
    }
    await this.conn.query(
      'DELETE s FROM alert_eval_state s JOIN alert_rules r ON r.id = s.rule_id WHERE r.deleted_at IS NOT NULL',
    );
    return next;
  }

  /** Deleted, disabled, re-scoped or edited rules: their open alerts are judged again. */
  private async ruleChanges(openRows: AlertRow[]): Promise<void> {
    const edited = new Set<number>();
    for (const a of openRows) {
      const key = keyOf(a.rule_id, a.device_id);
      const rule = this.rules.get(a.rule_id);
      const gone =
        !rule ||
        rule.deleted ||
        !rule.enabled ||
        rule.kind !== a.kind ||
        (rule.deviceId !== null && rule.deviceId !== a.device_id);
      const snap = this.open.get(key)!;
      if (gone) {
        const r = rule ?? this.placeholder(a);
        await this.apply(
          r,
          a.device_id,
          judgeRuleChange(spec(r), snap, { at: this.now, holds: false, latest: null }),
        );
        continue;
      }
      const state = this.states.get(key);
      if (state && state.rule_version === rule.version) continue;
      edited.add(rule.id);
      let latest: number | null = null;
      if (isSensorKind(rule.kind) && rule.sensor) {
        const [row] = (await this.conn.query(
          'SELECT value FROM readings WHERE device_id = ? AND sensor = ? ORDER BY measured_at DESC LIMIT 1',
          [a.device_id, rule.sensor],
        )) as { value: number }[];
        latest = row?.value ?? null;
      }
      await this.conn.query('UPDATE alerts SET rule_name = ?, severity = ? WHERE id = ?', [
        rule.name,
        rule.severity,
        a.id,
      ]);
      await this.apply(
        rule,
        a.device_id,
        judgeRuleChange(spec(rule), snap, { at: this.now, holds: true, latest }),
      );
    }
    for (const rule of this.rules.values()) {
      if (rule.deleted) continue;
      const stale = [...this.states.values()].some(
        (s) => s.rule_id === rule.id && s.rule_version !== rule.version,
      );
      if (!stale && !edited.has(rule.id)) continue;
      await this.conn.query('UPDATE alert_eval_state SET rule_version = ? WHERE rule_id = ?', [
        rule.version,
        rule.id,
      ]);
      for (const s of this.states.values()) if (s.rule_id === rule.id) s.rule_version = rule.version;
    }
  }

  private placeholder(a: AlertRow): StoredRule {
    return {
      id: a.rule_id,
      name: a.rule_name,
      deviceId: a.device_id,
      kind: a.kind,
      sensor: null,
      threshold: null,
      clear: null,
      forS: 0,
      severity: a.severity,
      targets: [],
      repeatS: null,
      enabled: false,
      version: 0,
      deleted: true,
      createdBy: null,
      createdAt: new Date(0),
      updatedAt: new Date(0),
    };
  }

  private async sensorRules(rules: StoredRule[], from: Date): Promise<Date> {
    const sensors = [...new Set(rules.map((r) => r.sensor!))];
    const rows = (await this.conn.query(
      'SELECT device_id, seq, sensor, value, measured_at, received_at FROM readings' +
        ` WHERE received_at > ? AND received_at <= ? AND sensor IN (${sensors.map(() => '?').join(',')})` +
        ' ORDER BY received_at LIMIT ?',
      [from, new Date(this.now), ...sensors, MAX_ROWS_PER_ROUND],
    )) as ReadingRow[];
    const bySeries = new Map<string, ReadingRow[]>();
    for (const r of rows) {
      const k = `${r.device_id}\u0000${r.sensor}`;
      const list = bySeries.get(k) ?? [];
      list.push(r);
      bySeries.set(k, list);
    }
    for (const rule of rules) {
      for (const [k, list] of bySeries) {
        const [deviceId, sensor] = k.split('\u0000') as [string, string];
        if (sensor !== rule.sensor || (rule.deviceId !== null && rule.deviceId !== deviceId)) continue;
        await this.series(rule, deviceId, list);
      }
    }
    // A full chunk: carry on from its last arrival next round (the overlap re-reads its ties).
    return rows.length === MAX_ROWS_PER_ROUND ? rows[rows.length - 1]!.received_at : new Date(this.now);
  }

  private async series(rule: StoredRule, deviceId: string, list: ReadingRow[]): Promise<void> {
    const key = keyOf(rule.id, deviceId);
    const state = this.states.get(key);
    const forward = list.filter((r) => after(r, state));
    const replayed = list.filter((r) => !after(r, state) && sampleOf(r).late);
    if (forward.length) {
      const j = judgeSamples(spec(rule), this.open.get(key) ?? null, forward.map(sampleOf), this.now);
      await this.apply(rule, deviceId, j);
      const newest = forward.reduce((a, b) =>
        b.measured_at > a.measured_at ||
        (b.measured_at.getTime() === a.measured_at.getTime() && b.seq > a.seq)
          ? b
          : a,
      );
      const s: EvalStateRow = {
        rule_id: rule.id,
        device_id: deviceId,
        rule_version: rule.version,
        cursor_at: newest.measured_at,
        cursor_seq: newest.seq,
      };
      this.states.set(key, s);
      await this.conn.query(
        'INSERT INTO alert_eval_state (rule_id, device_id, rule_version, cursor_at, cursor_seq) VALUES (?,?,?,?,?)' +
          ' ON DUPLICATE KEY UPDATE rule_version = VALUES(rule_version), cursor_at = VALUES(cursor_at),' +
          ' cursor_seq = VALUES(cursor_seq)',
        [rule.id, deviceId, rule.version, s.cursor_at, s.cursor_seq],
      );
    }
    if (replayed.length && state?.cursor_at) await this.replay(rule, deviceId, replayed, state.cursor_at);
  }

  /** Replayed readings older than the cursor: episodes that began and ended among them become history. */
  private async replay(
    rule: StoredRule,
    deviceId: string,
    replayed: ReadingRow[],
    cursor: Date,
  ): Promise<void> {
    const oldest = Math.min(...replayed.map((r) => r.measured_at.getTime()));
    const context = (await this.conn.query(
      'SELECT value, measured_at, received_at FROM readings WHERE device_id = ? AND sensor = ?' +
        ' AND measured_at >= ? AND measured_at <= ? ORDER BY measured_at LIMIT 20000',
      [deviceId, rule.sensor, new Date(oldest - rule.forS * 1000 - REPLAY_CONTEXT_MS), cursor],
    )) as { value: number; measured_at: Date; received_at: Date }[];
    const episodes = judgeReplay(spec(rule), context.map(sampleOf), cursor.getTime(), this.now);
    for (const ep of episodes) {
      const [overlap] = (await this.conn.query(
        'SELECT id FROM alerts WHERE rule_id = ? AND device_id = ? AND cancelled = 0 AND started_at <= ?' +
          ' AND (resolved_at IS NULL OR resolved_at >= ?) LIMIT 1',
        [rule.id, deviceId, new Date(ep.resolvedAt!), new Date(ep.startedAt)],
      )) as { id: number }[];
      if (overlap) continue;
      await this.save(rule, deviceId, ep, false, [
        { state: 'resolved', at: ep.resolvedAt!, value: ep.value, resolvedWhileOffline: true },
      ]);
    }
  }

  private async deviceRules(rules: StoredRule[], from: Date): Promise<void> {
    const devices = (await this.conn.query(
      'SELECT id, online, online_changed_at, first_seen, last_seen, last_data_at,' +
        " CAST(JSON_VALUE(last_state, '$.backlog') AS DOUBLE) AS backlog FROM devices",
    )) as DeviceRow[];
    const newest = new Map<string, number>();
    if (rules.some((r) => r.kind === 'no_data')) {
      // devices.last_data_at lags by the receiver's fold interval; the readings themselves do not.
      const rows = (await this.conn.query(
        'SELECT device_id, MAX(measured_at) AS newest FROM readings WHERE received_at > ? GROUP BY device_id',
        [from],
      )) as { device_id: string; newest: Date }[];
      for (const r of rows) newest.set(r.device_id, r.newest.getTime());
    }
    for (const rule of rules) {
      for (const d of devices) {
        if (rule.deviceId !== null && rule.deviceId !== d.id) continue;
        const o = this.observe(rule, d, newest.get(d.id));
        if (!o) continue;
        const key = keyOf(rule.id, d.id);
        const open = this.open.get(key) ?? null;
        if (!o.holds && !open) continue;
        await this.apply(rule, d.id, judgeObservation(spec(rule), open, o));
        if (!this.states.has(key)) {
          // The rule version this device was judged with, so an edit is noticed (no reading cursor here).
          const s = {
            rule_id: rule.id,
            device_id: d.id,
            rule_version: rule.version,
            cursor_at: null,
            cursor_seq: null,
          };
          this.states.set(key, s);
          await this.conn.query(
            'INSERT IGNORE INTO alert_eval_state (rule_id, device_id, rule_version) VALUES (?,?,?)',
            [rule.id, d.id, rule.version],
          );
        }
      }
    }
  }

  private observe(
    rule: StoredRule,
    d: DeviceRow,
    newestReading: number | undefined,
  ): Observation | undefined {
    const now = this.now;
    const secondsSince = (t: number) => Math.max(0, Math.round((now - t) / 1000));
    if (rule.kind === 'offline') {
      if (!d.last_seen && !d.online_changed_at) return undefined; // never connected: nothing to miss yet
      const since = (d.online_changed_at ?? d.last_seen ?? d.first_seen)!.getTime();
      const holds = d.online === 0;
      return { at: now, holds, since, value: holds ? secondsSince(since) : null };
    }
    if (rule.kind === 'no_data') {
      const last = Math.max(d.last_data_at?.getTime() ?? 0, newestReading ?? 0);
      const since = last || (d.online_changed_at ?? d.last_seen)?.getTime();
      if (!since) return undefined;
      const holds = d.online === 1 && now - since >= rule.forS * 1000;
      return { at: now, holds, since, value: holds ? secondsSince(since) : null };
    }
    const backlog = d.backlog === null ? null : Number(d.backlog);
    const holds = backlog !== null && backlog > (rule.threshold ?? 0);
    return { at: now, holds, since: now, value: backlog };
  }

  private async apply(rule: StoredRule, deviceId: string, j: Judgement): Promise<void> {
    const key = keyOf(rule.id, deviceId);
    this.touched.add(key);
    for (const o of j.outcomes) await this.save(rule, deviceId, o.alert, o.cancelled, o.notices);
    if (j.open) {
      this.open.set(key, j.open);
      this.openRule.set(key, { ruleId: rule.id, deviceId });
    } else this.open.delete(key);
  }

  private async save(
    rule: StoredRule,
    deviceId: string,
    alert: AlertSnapshot,
    cancelled: boolean,
    notices: {
      state: 'firing' | 'resolved';
      at: number;
      value: number | null;
      resolvedWhileOffline?: boolean;
    }[],
  ): Promise<void> {
    alert.id = await AlertStore.save(
      this.conn,
      alert,
      { ruleId: rule.id, ruleName: rule.name, kind: rule.kind, deviceId, severity: rule.severity },
      cancelled,
    );
    this.changes++;
    const url = devicePageUrl(this.publicUrl, deviceId);
    for (const n of notices) {
      if (!rule.targets.length) continue;
      await enqueueNotifications(
        this.conn,
        {
          alertId: alert.id,
          ruleId: rule.id,
          ruleName: rule.name,
          deviceId,
          state: n.state,
          severity: rule.severity,
          value: n.value,
          at: new Date(n.at).toISOString(),
          ...(n.resolvedWhileOffline ? { resolvedWhileOffline: true } : {}),
          ...(url ? { url } : {}),
        },
        rule.targets,
        new Date(this.now),
      );
      this.notifications += rule.targets.length;
    }
  }
}
