import { withTransaction } from '@sensorfleet/mariadb';
import type { Pool } from 'mariadb';
import { isRole, type Role } from './roles.js';

export interface UserRecord {
  username: string;
  passwordHash: string;
  role: Role;
}

export interface UserListing {
  username: string;
  role: Role;
  createdAt: string;
  lastLoginAt: string | null;
  sessions: number;
  tokens: number;
}

export class UserExistsError extends Error {}

/** The change would leave no admin: nobody could manage accounts from the web any more. */
export class LastAdminError extends Error {}

/** webadmin_users: accounts. Removing one removes its sessions and API tokens (foreign keys cascade). */
export class UserStore {
  constructor(private readonly pool: Pool) {}

  async find(username: string): Promise<UserRecord | undefined> {
    const rows = (await this.pool.query(
      'SELECT username, password_hash, role FROM webadmin_users WHERE username = ?',
      [username],
    )) as { username: string; password_hash: string; role: string }[];
    const r = rows[0];
    if (!r) return undefined;
    return { username: r.username, passwordHash: r.password_hash, role: isRole(r.role) ? r.role : 'viewer' };
  }

  async add(username: string, passwordHash: string, role: Role, now = new Date()): Promise<void> {
    try {
      await this.pool.query(
        'INSERT INTO webadmin_users (username, password_hash, role, created_at, password_changed_at)' +
          ' VALUES (?, ?, ?, ?, ?)',
        [username, passwordHash, role, now, now],
      );
    } catch (err) {
      if ((err as { code?: string }).code === 'ER_DUP_ENTRY') throw new UserExistsError(username);
      throw err;
    }
  }

  /** A new password ends every session of the user (a reset is what one does after a leak). */
  async setPassword(
    username: string,
    passwordHash: string,
    opts: { endSessions: boolean },
  ): Promise<boolean> {
    return withTransaction(this.pool, async (conn) => {
      const r = (await conn.query(
        'UPDATE webadmin_users SET password_hash = ?, password_changed_at = ? WHERE username = ?',
        [passwordHash, new Date(), username],
      )) as { affectedRows: number };
      if (opts.endSessions) await conn.query('DELETE FROM sessions WHERE username = ?', [username]);
      return r.affectedRows > 0;
    });
  }

  /** Rehash on login: only if the hash is still the one that was verified (no lost concurrent reset). */
  async upgradeHash(username: string, oldHash: string, newHash: string): Promise<void> {
    await this.pool.query(
      'UPDATE webadmin_users SET password_hash = ? WHERE username = ? AND password_hash = ?',
      [newHash, username, oldHash],
    );
  }

  async setRole(username: string, role: Role): Promise<boolean> {
    const r = (await this.pool.query('UPDATE webadmin_users SET role = ? WHERE username = ?', [
      role,
      username,
    ])) as { affectedRows: number };
    return r.affectedRows > 0;
  }

  async remove(username: string): Promise<boolean> {
    const r = (await this.pool.query('DELETE FROM webadmin_users WHERE username = ?', [username])) as {
      affectedRows: number;
    };
    return r.affectedRows > 0;
  }

  async recordLogin(username: string, at: Date): Promise<void> {
    await this.pool.query('UPDATE webadmin_users SET last_login_at = ? WHERE username = ?', [at, username]);
  }

  async count(): Promise<number> {
    const [r] = (await this.pool.query('SELECT COUNT(*) AS n FROM webadmin_users')) as { n: number }[];
    return Number(r?.n ?? 0);
  }

  /**
   * Changes a role or removes a user, refusing to take away the last admin. The admins' rows are locked
   * for the check, so two replicas demoting the last two admins at once cannot both succeed.
   */
  async changeGuarded(username: string, change: { role: Role } | { remove: true }): Promise<boolean> {
    return withTransaction(this.pool, async (conn) => {
      const admins = (await conn.query(
        "SELECT username FROM webadmin_users WHERE role = 'admin' FOR UPDATE",
      )) as { username: string }[];
      const losesAdmin = 'remove' in change || change.role !== 'admin';
      if (losesAdmin && admins.length === 1 && admins[0]!.username === username) {
        throw new LastAdminError(`${username} is the last admin`);
      }
      const r = (
        'remove' in change
          ? await conn.query('DELETE FROM webadmin_users WHERE username = ?', [username])
          : await conn.query('UPDATE webadmin_users SET role = ? WHERE username = ?', [change.role, username])
      ) as { affectedRows: number };
      return r.affectedRows > 0;
    });
  }

  async list(username?: string): Promise<UserListing[]> {
    const rows = (await this.pool.query(
      'SELECT u.username, u.role, u.created_at, u.last_login_at,' +
        ' (SELECT COUNT(*) FROM sessions s WHERE s.username = u.username AND s.expires_at > ?) AS sessions,' +
        ' (SELECT COUNT(*) FROM api_tokens t WHERE t.username = u.username) AS tokens' +
        ` FROM webadmin_users u${username !== undefined ? ' WHERE u.username = ?' : ''} ORDER BY u.username`,
      username !== undefined ? [new Date(), username] : [new Date()],
    )) as {
      username: string;
      role: string;
      created_at: Date;
      last_login_at: Date | null;
      sessions: number;
      tokens: number;
    }[];
    return rows.map((r) => ({
      username: r.username,
      role: isRole(r.role) ? r.role : 'viewer',
      createdAt: r.created_at.toISOString(),
      lastLoginAt: r.last_login_at?.toISOString() ?? null,
      sessions: Number(r.sessions),
      tokens: Number(r.tokens),
    }));
  }
}
