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
  | 'token_revoke';

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
