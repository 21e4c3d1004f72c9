import { timingSafeEqual } from 'node:crypto';
import fastifyCookie from '@fastify/cookie';
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import { ApiFailure } from '../errors.js';
import type { AuthService, AuthUser } from './auth-service.js';
import { hasRole, type Role } from './roles.js';
import type { Session } from './session-store.js';

/**
 * What a route says about access, in its `config`:
 * - `auth`: the least role it needs; `'optional'` loads the user when there is one and refuses nobody;
 *   `false` is public and skips the lookup (static files). Default: `'viewer'` under `/api/` and for `/ws`,
 *   `'optional'` elsewhere (pages decide themselves, e.g. with `app.requireRole`).
 * - `csrf`: `false` turns the CSRF check off for a state-changing route (default on).
 * - `onUnauthenticated`: `'redirect'` sends a browser to `/login?next=<url>` instead of a 401 (pages).
 */
export type RouteAuth = Role | 'optional' | false;

declare module 'fastify' {
  interface FastifyRequest {
    /** The signed-in user (session cookie or bearer token), or null. */
    user: AuthUser | null;
    /** The cookie session (null for bearer requests and anonymous ones): `session.csrfToken` for pages. */
    session: Session | null;
  }
  interface FastifyInstance {
    auth: AuthService;
    /** onRequest hook for routes that check access themselves (e.g. in a pages plugin). */
    requireRole(role: Role, opts?: { redirect?: boolean }): onRequestAsyncHookHandler;
    /** Logs in: checks the password (rate limited), ends the request's old session, sets the new cookie. */
    logIn(request: FastifyRequest, reply: FastifyReply, username: string, password: string): Promise<Session>;
    /** Ends the request's session (if any) and clears the cookie. */
    logOut(request: FastifyRequest, reply: FastifyReply): Promise<void>;
    /** Whether the request's session or token is still valid (long-lived sockets ask again). */
    stillSignedIn(request: FastifyRequest): Promise<boolean>;
    /**
     * Calls `onEnd` when the request's cookie session is logged out on this replica (a socket closes at
     * once); returns the unsubscribe. Other replicas' logouts reach it through `stillSignedIn`.
     */
    onSignOut(request: FastifyRequest, onEnd: () => void): () => void;
    /** `https://host[:port]` people use; state changes must come from it. */
    publicOrigin(request: FastifyRequest): string;
  }
  interface FastifyContextConfig {
    auth?: RouteAuth;
    csrf?: boolean;
    onUnauthenticated?: 'redirect' | 'status';
  }
}

export interface AuthPluginOptions {
  auth: AuthService;
  /** PUBLIC_URL: fixes the origin and, when https, makes the cookie Secure. */
  publicUrl?: string | undefined;
  sessionMaxAgeMs: number;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function defaultAuth(url: string): RouteAuth {
  return url.startsWith('/api/') || url === '/api' || url === '/ws' || url.startsWith('/ws?')
    ? 'viewer'
    : 'optional';
}

async function authPlugin(app: FastifyInstance, opts: AuthPluginOptions): Promise<void> {
  const secure = opts.publicUrl?.startsWith('https://') ?? false;
  const fixedOrigin = opts.publicUrl ? new URL(opts.publicUrl).origin : undefined;
  // `__Host-` makes the browser refuse the cookie unless Secure, Path=/ and host-only: no subdomain can set it.
  const cookieName = secure ? '__Host-sf_session' : 'sf_session';
  const cookieOptions = {
    httpOnly: true,
    sameSite: 'lax' as const,
    path: '/',
    secure,
    maxAge: Math.floor(opts.sessionMaxAgeMs / 1000),
  };

  await app.register(fastifyCookie);
  app.decorate('auth', opts.auth);
  app.decorateRequest('user', null);
  app.decorateRequest('session', null);
  app.decorate(
    'publicOrigin',
    (request: FastifyRequest) => fixedOrigin ?? `${request.protocol}://${request.host}`,
  );

  async function identify(request: FastifyRequest): Promise<void> {
    const header = request.headers.authorization;
    if (header !== undefined) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
      const user = m ? await opts.auth.byToken(m[1]!) : undefined;
      if (!user) throw new ApiFailure(401, 'unauthorized', 'the bearer token is not valid');
      request.user = user;
      return;
    }
    const sid = request.cookies[cookieName];
    if (!sid) return;
    const session = await opts.auth.bySession(sid);
    if (!session) return;
    request.session = session;
    request.user = { username: session.username, role: session.role, via: 'session' };
  }

  function checkOrigin(request: FastifyRequest, required: boolean): void {
    const origin = request.headers.origin;
    if (origin === undefined) {
      if (required) throw new ApiFailure(403, 'csrf', 'state changes need a same-origin Origin header');
      return;
    }
    if (origin !== app.publicOrigin(request)) {
      throw new ApiFailure(403, 'csrf', `requests from ${JSON.stringify(origin)} are not accepted`);
    }
  }

  function refuseUnauthenticated(request: FastifyRequest, reply: FastifyReply, redirect: boolean): void {
    if (redirect && request.method === 'GET') {
      void reply.redirect(`/login?next=${encodeURIComponent(request.url)}`, 303);
      return;
    }
    throw new ApiFailure(401, 'unauthorized', 'sign in, or send Authorization: Bearer <token>');
  }

  // onRequest, before the body is read and validated: a stranger gets 401/403, never a 400 that tells
  // what the route would accept.
  app.addHook('onRequest', async (request, reply) => {
    const config = request.routeOptions.config;
    const needed: RouteAuth = config.auth ?? defaultAuth(request.url);
    if (needed === false) return;
    await identify(request).catch((err: unknown) => {
      if (needed === 'optional' && err instanceof ApiFailure) return;
      throw err;
    });
    const stateChange = !SAFE_METHODS.has(request.method);
    if (needed === 'optional') {
      // Public state changes (the login itself): no token yet, but a foreign page must not post here.
      if (stateChange && config.csrf !== false) checkOrigin(request, false);
      return;
    }
    const user = request.user;
    if (!user) return refuseUnauthenticated(request, reply, config.onUnauthenticated === 'redirect');
    if (!hasRole(user.role, needed)) {
      throw new ApiFailure(403, 'forbidden', `this needs the ${needed} role (you are ${user.role})`);
    }
    if (user.via === 'session') {
      if (stateChange && config.csrf !== false) {
        const token = request.headers['x-csrf-token'];
        if (typeof token !== 'string' || !request.session || !sameSecret(token, request.session.csrfToken)) {
          throw new ApiFailure(403, 'csrf', 'missing or wrong x-csrf-token header (GET /api/session has it)');
        }
        checkOrigin(request, true);
      } else if (request.headers.origin !== undefined) {
        // The WebSocket handshake is a GET: a browser always sends Origin with it, so check it there.
        checkOrigin(request, false);
      }
    }
  });

  app.decorate('requireRole', (role: Role, o: { redirect?: boolean } = {}): onRequestAsyncHookHandler => {
    return async function requireRole(request, reply) {
      if (!request.user) await identify(request).catch(() => undefined);
      if (!request.user) return refuseUnauthenticated(request, reply, o.redirect ?? true);
      if (!hasRole(request.user.role, role)) {
        throw new ApiFailure(403, 'forbidden', `this needs the ${role} role (you are ${request.user.role})`);
      }
    };
  });

  app.decorate(
    'logIn',
    async (request: FastifyRequest, reply: FastifyReply, username: string, password: string) => {
      const outcome = await opts.auth.login(username, password, {
        ip: request.ip,
        userAgent: request.headers['user-agent'],
      });
      if (!outcome.ok) {
        if (outcome.reason === 'limited') {
          void reply.header('retry-after', String(outcome.retryAfterS));
          throw new ApiFailure(
            429,
            'rate_limited',
            `too many failed logins; try again in ${outcome.retryAfterS} s`,
          );
        }
        throw new ApiFailure(401, 'login_failed', 'wrong user name or password');
      }
      // A new id at every login: a session id planted before login (fixation) is worth nothing after it.
      const old = request.cookies[cookieName];
      if (old) await opts.auth.sessions.end(old);
      void reply.setCookie(cookieName, outcome.sessionId, cookieOptions);
      request.session = outcome.session;
      request.user = { username: outcome.session.username, role: outcome.session.role, via: 'session' };
      return outcome.session;
    },
  );

  app.decorate('stillSignedIn', async (request: FastifyRequest) => {
    if (request.user?.via === 'token') {
      const token = /^Bearer\s+(\S+)/i.exec(request.headers.authorization ?? '')?.[1];
      return token !== undefined && (await opts.auth.byToken(token)) !== undefined;
    }
    const sid = request.cookies[cookieName];
    return sid !== undefined && (await opts.auth.bySession(sid)) !== undefined;
  });

  const signOutListeners = new Map<string, Set<() => void>>();
  app.decorate('onSignOut', (request: FastifyRequest, onEnd: () => void) => {
    const sid = request.user?.via === 'session' ? request.cookies[cookieName] : undefined;
    if (sid === undefined) return () => undefined;
    const listeners = signOutListeners.get(sid) ?? new Set();
    signOutListeners.set(sid, listeners.add(onEnd));
    return () => {
      listeners.delete(onEnd);
      if (listeners.size === 0) signOutListeners.delete(sid);
    };
  });

  app.decorate('logOut', async (request: FastifyRequest, reply: FastifyReply) => {
    const sid = request.cookies[cookieName];
    if (sid) {
      await opts.auth.logout(sid, request.user?.username ?? '', request.ip);
      for (const onEnd of [...(signOutListeners.get(sid) ?? [])]) onEnd();
    }
    void reply.clearCookie(cookieName, { path: '/', secure, httpOnly: true, sameSite: 'lax' });
    request.session = null;
    request.user = null;
  });
}

export const authPluginFp = fp(authPlugin, { name: 'sensorfleet-auth', fastify: '5.x' });
