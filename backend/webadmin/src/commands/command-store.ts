import type { CommandStatus, CommandView } from '@sensorfleet/shared/schemas/webadmin-api';
import { withTransaction } from '@sensorfleet/mariadb';
import type { Pool, PoolConnection } from 'mariadb';

export interface CommandRow {
  id: string;
  device_id: string;
  command: string;
  args: string | Record<string, unknown> | null;
  status: CommandStatus;
  result: string | Record<string, unknown> | null;
  error: string | null;
  created_by: string | null;
  created_at: Date;
  expires_at: Date | null;
  sent_at: Date | null;
  finished_at: Date | null;
  updated_at: Date;
}

export const COMMAND_COLUMNS =
  'id, device_id, command, args, status, result, error, created_by, created_at, expires_at, sent_at,' +
  ' finished_at, updated_at';

const json = (v: string | Record<string, unknown> | null): Record<string, unknown> | null =>
  v === null ? null : typeof v === 'string' ? (JSON.parse(v) as Record<string, unknown>) : v;

export function commandView(r: CommandRow): CommandView {
  return {
    id: r.id,
    deviceId: r.device_id,
    command: r.command,
    args: json(r.args) ?? {},
    status: r.status,
    result: json(r.result),
    error: r.error,
    createdBy: r.created_by,
    createdAt: r.created_at.toISOString(),
    expiresAt: r.expires_at?.toISOString() ?? null,
    sentAt: r.sent_at?.toISOString() ?? null,
    completedAt: r.finished_at?.toISOString() ?? null,
  };
}

export interface NewCommand {
  id: string;
  deviceId: string;
  command: string;
  args: Record<string, unknown>;
  expiresAt: Date;
  createdBy: string;
  createdAt: Date;
}

/** The `commands` table: the desired state of each device, and what became of it. */
export class CommandStore {
  constructor(private readonly pool: Pool) {}

  async insert(c: NewCommand): Promise<void> {
    await this.pool.query(
      'INSERT INTO commands (id, device_id, command, args, status, created_at, expires_at, created_by)' +
        " VALUES (?, ?, ?, ?, 'pending', ?, ?, ?)",
      [c.id, c.deviceId, c.command, JSON.stringify(c.args), c.createdAt, c.expiresAt, c.createdBy],
    );
  }

  async get(id: string): Promise<CommandView | undefined> {
    const rows = (await this.pool.query(`SELECT ${COMMAND_COLUMNS} FROM commands WHERE id = ?`, [
      id,
    ])) as CommandRow[];
    return rows[0] && commandView(rows[0]);
  }

  /** Newest first; `cursor` is the `next` of the previous page (`<created_at ms>.<id>`). */
  async listForDevice(
    deviceId: string,
    limit: number,
    cursor?: string,
  ): Promise<{ commands: CommandView[]; next: string | null }> {
    const params: unknown[] = [deviceId];
    let after = '';
    const m = cursor ? /^(\d{1,15})\.(.+)$/.exec(cursor) : null;
    if (m) {
      after = ' AND (created_at < ? OR (created_at = ? AND id < ?))';
      const at = new Date(Number(m[1]));
      params.push(at, at, m[2]);
    }
    params.push(limit + 1);
    const rows = (await this.pool.query(
      `SELECT ${COMMAND_COLUMNS} FROM commands WHERE device_id = ?${after} ORDER BY created_at DESC, id DESC LIMIT ?`,
      params,
    )) as CommandRow[];
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      commands: page.map(commandView),
      next: rows.length > limit && last ? `${last.created_at.getTime()}.${last.id}` : null,
    };
  }

  /**
   * Rows changed at or after `since` (database time), oldest change first, for the replicas' live feeds.
   * The caller keeps an overlap and de-duplicates: a transaction may commit a little after its timestamp.
   */
  async changedSince(since: Date, limit = 500): Promise<CommandRow[]> {
    return (await this.pool.query(
      `SELECT ${COMMAND_COLUMNS} FROM commands WHERE updated_at >= ? ORDER BY updated_at LIMIT ?`,
      [since, limit],
    )) as CommandRow[];
  }

  /** The database's clock, where change tracking starts. */
  async now(): Promise<Date> {
    const [r] = (await this.pool.query('SELECT CURRENT_TIMESTAMP(3) AS now')) as { now: Date }[];
    return r?.now ?? new Date();
  }

  /** Pending or sent commands whose time is up become `expired`; never delivered after that. */
  async expire(now: Date): Promise<number> {
    const r = (await this.pool.query(
      "UPDATE commands SET status = 'expired', finished_at = ?, error = 'expired before the device answered'" +
        " WHERE status IN ('pending', 'sent') AND expires_at <= ?",
      [now, now],
    )) as { affectedRows: number };
    return r.affectedRows;
  }

  /** Records a device's answer; a second copy (or an answer to a finished command) changes nothing. */
  async recordResult(
    deviceId: string,
    id: string,
    outcome: { ok: true; result: Record<string, unknown> } | { ok: false; error: string },
    now: Date,
  ): Promise<boolean> {
    // An expired command that was sent and then succeeded did run (the device judged the expiry by its own
    // clock): that is the truth to show. A refusal of an expired command leaves it `expired`.
    const r = (await this.pool.query(
      // A result proves delivery: sent_at is filled in if the publisher's commit has not landed (it may have
      // been rolled back after the publish; the command is then published again and answered again).
      'UPDATE commands FORCE INDEX (PRIMARY) SET status = ?, result = ?, error = ?, finished_at = ?,' +
        ' sent_at = COALESCE(sent_at, ?)' +
        " WHERE id = ? AND device_id = ? AND (status IN ('pending', 'sent') OR (status = 'expired' AND sent_at IS NOT NULL AND ?))",
      [
        outcome.ok ? 'succeeded' : 'failed',
        outcome.ok ? JSON.stringify(outcome.result) : null,
        outcome.ok ? null : outcome.error.slice(0, 1000),
        now,
        now,
        id,
        deviceId,
        outcome.ok,
      ],
    )) as { affectedRows: number };
    return r.affectedRows > 0;
  }

  /** Runs `fn` in one transaction on the store's pool (committed, or rolled back on any error). */
  transaction<T>(fn: (conn: PoolConnection) => Promise<T>): Promise<T> {
    return withTransaction(this.pool, fn);
  }
}
