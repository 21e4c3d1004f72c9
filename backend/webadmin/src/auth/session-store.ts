import type { Pool } from 'mariadb';
import { isRole, type Role } from './roles.js';
import { randomToken, tokenHash } from './tokens.js';

export interface Session {
  /** SHA-256 of the cookie value: how the row is named everywhere but in the cookie. */
  idHash: string;
  username: string;
  role: Role;
  csrfToken: string;
  createdAt: Date;
  expiresAt: Date;
  maxExpiresAt: Date;
  lastSeenAt: Date;
}

/** Writing last_seen_at on every request would turn reads into writes: once a minute is enough. */
const TOUCH_EVERY_MS = 60_000;

/**
 * Server-side sessions in MariaDB, so any replica can serve any request and logging out (or removing the
 * user) ends a session everywhere at once. The role is read from the user row on every lookup: a role
 * change applies to open sessions.
 */
export class SessionStore {
  constructor(
    private readonly pool: Pool,
    private readonly opts: { idleTtlMs: number; maxAgeMs: number },
  ) {}

  async create(
    username: string,
    meta: { ip?: string; userAgent?: string },
    now = new Date(),
  ): Promise<{ id: string; session: Session }> {
    const id = randomToken();
    const csrfToken = randomToken();
    const maxExpiresAt = new Date(now.getTime() + this.opts.maxAgeMs);
    const expiresAt = new Date(Math.min(now.getTime() + this.opts.idleTtlMs, maxExpiresAt.getTime()));
    await this.pool.query(
      'INSERT INTO sessions (id_hash, username, csrf_token, created_at, last_seen_at, expires_at,' +
        ' max_expires_at, ip, user_agent) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      [
        tokenHash(id),
        username,
        csrfToken,
        now,
        now,
        expiresAt,
        maxExpiresAt,
        meta.ip?.slice(0, 64) ?? null,
        meta.userAgent?.slice(0, 255) ?? null,
      ],
    );
    const [row] = (await this.pool.query('SELECT role FROM webadmin_users WHERE username = ?', [
      username,
    ])) as { role: string }[];
    return {
      id,
      session: {
        idHash: tokenHash(id),
        username,
        role: isRole(row?.role) ? row.role : 'viewer',
        csrfToken,
        createdAt: now,
        expiresAt,
        maxExpiresAt,
        lastSeenAt: now,
      },
    };
  }

  /** The live session of a cookie value, its idle expiry moved forward; undefined when ended or unknown. */
  async lookup(id: string, now = new Date()): Promise<Session | undefined> {
    if (id.length < 20 || id.length > 100) return undefined;
    const idHash = tokenHash(id);
    const rows = (await this.pool.query(
      'SELECT s.username, u.role, s.csrf_token, s.created_at, s.expires_at, s.max_expires_at, s.last_seen_at' +
        ' FROM sessions s JOIN webadmin_users u ON u.username = s.username' +
        ' WHERE s.id_hash = ? AND s.expires_at > ? AND s.max_expires_at > ?',
      [idHash, now, now],
    )) as {
      username: string;
      role: string;
      csrf_token: string;
      created_at: Date;
      expires_at: Date;
      max_expires_at: Date;
      last_seen_at: Date;
    }[];
    const r = rows[0];
    if (!r) return undefined;
    const session: Session = {
      idHash,
      username: r.username,
      role: isRole(r.role) ? r.role : 'viewer',
      csrfToken: r.csrf_token,
      createdAt: r.created_at,
      expiresAt: r.expires_at,
      maxExpiresAt: r.max_expires_at,
      lastSeenAt: r.last_seen_at,
    };
    if (now.getTime() - r.last_seen_at.getTime() >= TOUCH_EVERY_MS) {
      const expiresAt = new Date(Math.min(now.getTime() + this.opts.idleTtlMs, r.max_expires_at.getTime()));
      await this.pool.query('UPDATE sessions SET last_seen_at = ?, expires_at = ? WHERE id_hash = ?', [
        now,
        expiresAt,
        idHash,
      ]);
      session.expiresAt = expiresAt;
      session.lastSeenAt = now;
    }
    return session;
  }

  async end(id: string): Promise<boolean> {
    const r = (await this.pool.query('DELETE FROM sessions WHERE id_hash = ?', [tokenHash(id)])) as {
      affectedRows: number;
    };
    return r.affectedRows > 0;
  }

  async endAllOf(username: string): Promise<number> {
    const r = (await this.pool.query('DELETE FROM sessions WHERE username = ?', [username])) as {
      affectedRows: number;
    };
    return r.affectedRows;
  }

  /** Deletes ended sessions a bounded slice at a time (any replica may run it; it is idempotent). */
  async purgeExpired(now = new Date()): Promise<number> {
    const r = (await this.pool.query(
      'DELETE FROM sessions WHERE expires_at <= ? OR max_expires_at <= ? LIMIT 1000',
      [now, now],
    )) as { affectedRows: number };
    return r.affectedRows;
  }
}
