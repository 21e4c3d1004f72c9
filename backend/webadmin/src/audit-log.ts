import type { Pool } from 'mariadb';

export type AuditAction =
  | 'login_ok'
  | 'login_failed'
  | 'login_limited'
  | 'logout'
  | 'command'
  | 'rename'
  | 'user_add'
  | 'user_reset'
  | 'user_remove'
  | 'user_role'
  | 'token_add'
  | 'token_revoke'
  | 'alert_rule_add'
  | 'alert_rule_change'
  | 'alert_rule_remove'
  | 'alert_ack';

export interface AuditEntry {
  actor: string | null;
  action: AuditAction;
  target?: string | null;
  ip?: string | null;
  detail?: Record<string, unknown>;
}

/** audit_log: who did what, kept in the database (logins, commands, account changes). */
export class AuditLog {
  constructor(private readonly pool: Pool) {}

  async record(e: AuditEntry, at = new Date()): Promise<void> {
    await this.pool.query(
      'INSERT INTO audit_log (at, actor, action, target, ip, detail) VALUES (?, ?, ?, ?, ?, ?)',
      [
        at,
        e.actor?.slice(0, 64) ?? null,
        e.action,
        e.target?.slice(0, 128) ?? null,
        e.ip?.slice(0, 64) ?? null,
        e.detail ? JSON.stringify(e.detail) : null,
      ],
    );
  }
}

export interface AuditRecord {
  id: number;
  at: string;
  actor: string | null;
  action: string;
  target: string | null;
  ip: string | null;
  detail: Record<string, unknown> | null;
}

/** Newest first; `beforeId` pages on. */
export async function listAudit(
  pool: Pool,
  q: {
    limit: number;
    beforeId?: number | undefined;
    actor?: string | undefined;
    action?: string | undefined;
  },
): Promise<AuditRecord[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (q.beforeId !== undefined) {
    where.push('id < ?');
    params.push(q.beforeId);
  }
  if (q.actor !== undefined) {
    where.push('actor = ?');
    params.push(q.actor);
  }
  if (q.action !== undefined) {
    where.push('action = ?');
    params.push(q.action);
  }
  params.push(q.limit);
  const rows = (await pool.query(
    `SELECT id, at, actor, action, target, ip, detail FROM audit_log${where.length ? ` WHERE ${where.join(' AND ')}` : ''}` +
      ' ORDER BY id DESC LIMIT ?',
    params,
  )) as {
    id: number;
    at: Date;
    actor: string | null;
    action: string;
    target: string | null;
    ip: string | null;
    detail: string | null;
  }[];
  return rows.map((r) => {
    let detail: Record<string, unknown> | null = null;
    try {
      detail = r.detail ? (JSON.parse(r.detail) as Record<string, unknown>) : null;
    } catch {
      detail = { text: r.detail };
    }
    return {
      id: Number(r.id),
      at: r.at.toISOString(),
      actor: r.actor,
      action: r.action,
      target: r.target,
      ip: r.ip,
      detail,
    };
  });
}
