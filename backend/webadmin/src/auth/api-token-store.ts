import { randomBytes } from 'node:crypto';
import type { Pool } from 'mariadb';
import { isRole, type Role } from './roles.js';
import { API_TOKEN_PREFIX, randomToken, tokenHash } from './tokens.js';

export interface TokenOwner {
  tokenId: string;
  username: string;
  role: Role;
}

export interface TokenListing {
  id: string;
  username: string;
  label: string | null;
  createdAt: string;
  lastUsedAt: string | null;
}

/** Bearer tokens for scripts: shown once, stored as SHA-256, act with their user's role. */
export class ApiTokenStore {
  constructor(private readonly pool: Pool) {}

  async create(username: string, label?: string, now = new Date()): Promise<{ id: string; token: string }> {
    const id = `tok_${randomBytes(6).toString('hex')}`;
    const token = `${API_TOKEN_PREFIX}${id.slice(4)}_${randomToken()}`;
    await this.pool.query(
      'INSERT INTO api_tokens (id, token_hash, username, label, created_at) VALUES (?, ?, ?, ?, ?)',
      [id, tokenHash(token), username, label ?? null, now],
    );
    return { id, token };
  }

  async lookup(token: string, now = new Date()): Promise<TokenOwner | undefined> {
    if (!token.startsWith(API_TOKEN_PREFIX) || token.length > 200) return undefined;
    const hash = tokenHash(token);
    const rows = (await this.pool.query(
      'SELECT t.id, t.username, u.role, t.last_used_at FROM api_tokens t' +
        ' JOIN webadmin_users u ON u.username = t.username WHERE t.token_hash = ?',
      [hash],
    )) as { id: string; username: string; role: string; last_used_at: Date | null }[];
    const r = rows[0];
    if (!r) return undefined;
    // Like sessions: last use is worth knowing (which tokens are dead?), not worth a write per request.
    if (!r.last_used_at || now.getTime() - r.last_used_at.getTime() > 60_000) {
      await this.pool.query('UPDATE api_tokens SET last_used_at = ? WHERE id = ?', [now, r.id]);
    }
    return { tokenId: r.id, username: r.username, role: isRole(r.role) ? r.role : 'viewer' };
  }

  async revoke(id: string): Promise<boolean> {
    const r = (await this.pool.query('DELETE FROM api_tokens WHERE id = ?', [id])) as {
      affectedRows: number;
    };
    return r.affectedRows > 0;
  }

  async list(username?: string): Promise<TokenListing[]> {
    const rows = (await this.pool.query(
      'SELECT id, username, label, created_at, last_used_at FROM api_tokens' +
        (username ? ' WHERE username = ?' : '') +
        ' ORDER BY username, created_at',
      username ? [username] : [],
    )) as {
      id: string;
      username: string;
      label: string | null;
      created_at: Date;
      last_used_at: Date | null;
    }[];
    return rows.map((r) => ({
      id: r.id,
      username: r.username,
      label: r.label,
      createdAt: r.created_at.toISOString(),
      lastUsedAt: r.last_used_at?.toISOString() ?? null,
    }));
  }
}
