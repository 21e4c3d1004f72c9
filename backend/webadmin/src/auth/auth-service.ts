import type { Logger } from '@sensorfleet/shared';
import type { AuditLog } from '../audit-log.js';
import type { ApiTokenStore } from './api-token-store.js';
import type { LoginLimiter } from './login-limiter.js';
import { hashPassword, needsRehash, verifyPassword } from './passwords.js';
import type { Role } from './roles.js';
import type { Session, SessionStore } from './session-store.js';
import type { UserStore } from './user-store.js';

/** Who a request acts as. `via` says how it proved it (CSRF applies to cookie sessions only). */
export interface AuthUser {
  username: string;
  role: Role;
  via: 'session' | 'token';
  tokenId?: string;
}

export type LoginOutcome =
  | { ok: true; sessionId: string; session: Session }
  | { ok: false; reason: 'invalid' }
  | { ok: false; reason: 'limited'; retryAfterS: number };

/** Login, logout and identification; the HTTP details (cookies, headers) are the plugin's. */
export class AuthService {
  constructor(
    private readonly deps: {
      users: UserStore;
      sessions: SessionStore;
      tokens: ApiTokenStore;
      limiter: LoginLimiter;
      audit: AuditLog;
      log: Logger;
      onLogin?: (outcome: 'ok' | 'failed' | 'limited') => void;
    },
  ) {}

  get sessions(): SessionStore {
    return this.deps.sessions;
  }

  async login(
    username: string,
    password: string,
    meta: { ip: string; userAgent?: string },
  ): Promise<LoginOutcome> {
    const { users, sessions, limiter, audit, log } = this.deps;
    const admission = await limiter.admit(meta.ip, username);
    if (!admission.allowed) {
      this.deps.onLogin?.('limited');
      await audit.record({
        actor: null,
        action: 'login_limited',
        target: username,
        ip: meta.ip,
        detail: { by: admission.by },
      });
      return { ok: false, reason: 'limited', retryAfterS: admission.retryAfterS };
    }
    const user = await users.find(username);
    const ok = await verifyPassword(user?.passwordHash, password);
    await limiter.finish(admission.attemptId, ok);
    this.deps.onLogin?.(ok && user ? 'ok' : 'failed');
    if (!ok || !user) {
      await audit.record({
        actor: user ? user.username : null,
        action: 'login_failed',
        target: username,
        ip: meta.ip,
        detail: { known: user !== undefined },
      });
      return { ok: false, reason: 'invalid' };
    }
    if (needsRehash(user.passwordHash)) {
      // The parameters were raised since this hash was made: store one made with today's.
      await users
        .upgradeHash(user.username, user.passwordHash, await hashPassword(password))
        .catch((err: unknown) => log.warn({ err, username }, 'password rehash failed'));
    }
    const now = new Date();
    const created = await sessions.create(user.username, meta, now);
    await users.recordLogin(user.username, now);
    await audit.record({ actor: user.username, action: 'login_ok', ip: meta.ip });
    return { ok: true, sessionId: created.id, session: created.session };
  }

  async logout(sessionId: string, username: string, ip: string): Promise<void> {
    if (await this.deps.sessions.end(sessionId)) {
      await this.deps.audit.record({ actor: username, action: 'logout', ip });
    }
  }

  async bySession(sessionId: string): Promise<Session | undefined> {
    return this.deps.sessions.lookup(sessionId);
  }

  async byToken(token: string): Promise<AuthUser | undefined> {
    const owner = await this.deps.tokens.lookup(token);
    return owner && { username: owner.username, role: owner.role, via: 'token', tokenId: owner.tokenId };
  }
}
