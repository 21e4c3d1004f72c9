import type { Pool } from 'mariadb';

export interface LoginLimits {
  windowMs: number;
  maxFailuresPerUser: number;
  maxFailuresPerIp: number;
}

export type LoginAdmission =
  { allowed: true; attemptId: number } | { allowed: false; retryAfterS: number; by: 'user' | 'ip' };

/**
 * Login rate limit per user name and per client IP, in the database so every replica counts the same
 * attempts. The attempt is written before the password is checked (outcome NULL = in progress) and counts
 * as a failure until it succeeds: a burst of parallel guesses cannot slip through between check and write.
 */
export class LoginLimiter {
  constructor(
    private readonly pool: Pool,
    private readonly limits: LoginLimits,
  ) {}

  async admit(ip: string, username: string, now = new Date()): Promise<LoginAdmission> {
    const since = new Date(now.getTime() - this.limits.windowMs);
    const [counts] = (await this.pool.query(
      'SELECT' +
        ' (SELECT COUNT(*) FROM login_attempts WHERE username = ? AND at > ? AND (ok IS NULL OR ok = 0)) AS byUser,' +
        ' (SELECT MIN(at) FROM login_attempts WHERE username = ? AND at > ? AND (ok IS NULL OR ok = 0)) AS userOldest,' +
        ' (SELECT COUNT(*) FROM login_attempts WHERE ip = ? AND at > ? AND (ok IS NULL OR ok = 0)) AS byIp,' +
        ' (SELECT MIN(at) FROM login_attempts WHERE ip = ? AND at > ? AND (ok IS NULL OR ok = 0)) AS ipOldest',
      [username, since, username, since, ip, since, ip, since],
    )) as { byUser: number; userOldest: Date | null; byIp: number; ipOldest: Date | null }[];
    const retry = (oldest: Date | null) =>
      Math.max(
        1,
        Math.ceil(((oldest?.getTime() ?? now.getTime()) + this.limits.windowMs - now.getTime()) / 1000),
      );
    if (Number(counts?.byUser ?? 0) >= this.limits.maxFailuresPerUser)
      return { allowed: false, by: 'user', retryAfterS: retry(counts?.userOldest ?? null) };
    if (Number(counts?.byIp ?? 0) >= this.limits.maxFailuresPerIp)
      return { allowed: false, by: 'ip', retryAfterS: retry(counts?.ipOldest ?? null) };
    const r = (await this.pool.query('INSERT INTO login_attempts (at, ip, username) VALUES (?, ?, ?)', [
      now,
      ip.slice(0, 64),
      username.slice(0, 64),
    ])) as { insertId: number };
    return { allowed: true, attemptId: Number(r.insertId) };
  }

  async finish(attemptId: number, ok: boolean): Promise<void> {
    await this.pool.query('UPDATE login_attempts SET ok = ? WHERE id = ?', [ok ? 1 : 0, attemptId]);
  }

  /** Attempts older than two windows count for nothing; deleted a slice at a time. */
  async purge(now = new Date()): Promise<number> {
    const r = (await this.pool.query('DELETE FROM login_attempts WHERE at < ? LIMIT 1000', [
      new Date(now.getTime() - 2 * this.limits.windowMs),
    ])) as { affectedRows: number };
    return r.affectedRows;
  }
}
