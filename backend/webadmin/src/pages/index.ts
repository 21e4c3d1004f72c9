import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { alertsBody, HISTORY_STATES } from './alerts-page.js';
import { Assets } from './assets.js';
import { deviceBody } from './device-page.js';
import { errorBody } from './error-page.js';
import { FLEET_SORTS, fleetBody } from './fleet-page.js';
import { renderPage, type PageSpec } from './layout.js';
import { loginBody } from './login-page.js';
import { messagesBody } from './messages-page.js';
import { hasRole, safeNext, type PageUser, type UserResolver } from './page-user.js';
import { PAGE_HEADERS } from './security-headers.js';
import { statsBody } from './stats-page.js';
import { usersBody } from './users-page.js';
import { sessionUserResolver } from './session-user.js';

export { html, raw, escapeHtml, SafeHtml } from './html.js';
export type { PageUser, UserResolver } from './page-user.js';

export interface PagesOptions {
  /** Default: the auth plugin's session (see session-user.ts). Fixture servers in tests pass their own. */
  resolveUser?: UserResolver;
  /** Default: dist/public, where `npm run build` puts the bundle. */
  publicDir?: string;
}

type Query = Record<string, string | undefined>;
const str = (v: string | undefined, max = 200) => (typeof v === 'string' ? v.slice(0, max) : '');

/**
 * The web admin's pages: /login, / (fleet), /devices/{id}, /alerts, /stats, /messages, /users, and the bundle
 * under /assets. Every page is a server-rendered frame plus one ES module; data comes from /api and /ws
 * with the user's session, so a page shows nothing the API would not give the same user.
 */
export async function pagesPlugin(app: FastifyInstance, opts: PagesOptions = {}): Promise<void> {
  const assets = Assets.load(opts.publicDir);
  const resolveUser = opts.resolveUser ?? sessionUserResolver;

  const send = (reply: FastifyReply, spec: PageSpec, status = 200) =>
    reply
      .code(status)
      .headers(PAGE_HEADERS)
      // The frame names the user; a shared or back-button cache must not show it to the next person.
      .header('cache-control', 'no-store')
      .type('text/html; charset=utf-8')
      .send(renderPage(assets, spec));

  /** The signed-in user, or a redirect to /login that comes back here afterwards. */
  const requireUser = async (req: FastifyRequest, reply: FastifyReply): Promise<PageUser | undefined> => {
    const user = await resolveUser(req);
    if (!user) {
      void reply
        .headers(PAGE_HEADERS)
        .header('cache-control', 'no-store')
        .redirect(`/login?next=${encodeURIComponent(req.url)}`);
    }
    return user;
  };

  // Static files are public: the login page needs them, and looking up a session for each is waste.
  app.get('/assets/*', { config: { auth: false } }, async (req, reply) => {
    const rel = (req.params as { '*': string })['*'];
    const asset = assets.get(rel);
    if (!asset) return reply.code(404).headers(PAGE_HEADERS).type('text/plain').send('not found');
    const versioned = (req.query as Query).v === asset.hash || rel.startsWith('chunks/');
    return reply
      .headers(PAGE_HEADERS)
      .header('cache-control', versioned ? 'public, max-age=31536000, immutable' : 'no-cache')
      .header('etag', `"${asset.hash}"`)
      .type(asset.type)
      .send(asset.body);
  });
  app.get('/favicon.ico', { config: { auth: false } }, async (_req, reply) =>
    reply.redirect('/assets/favicon.svg', 301),
  );

  app.get('/login', async (req, reply) => {
    const next = safeNext((req.query as Query).next);
    if (await resolveUser(req)) return reply.redirect(next);
    return send(reply, { title: 'Sign in', script: 'login', nav: 'none', body: loginBody(next) });
  });

  app.get('/', async (req, reply) => {
    const user = await requireUser(req, reply);
    if (!user) return reply;
    const q = req.query as Query;
    const sort = FLEET_SORTS.some(([v]) => v === q.sort) ? str(q.sort) : 'id';
    const limit = ['25', '50', '100'].includes(str(q.limit)) ? str(q.limit) : '50';
    const online = q.online === 'true' || q.online === 'false' ? q.online : '';
    return send(reply, {
      title: 'Fleet',
      script: 'fleet',
      nav: 'fleet',
      user,
      body: fleetBody({ search: str(q.search), online, sort, limit }),
    });
  });

  app.get('/devices/:id', async (req, reply) => {
    const user = await requireUser(req, reply);
    if (!user) return reply;
    const id = str((req.params as { id: string }).id, 64);
    const canCommand = hasRole(user, 'operator');
    return send(reply, {
      title: id,
      script: 'device',
      nav: 'fleet',
      user,
      data: { device: id, commands: canCommand ? 'yes' : 'no' },
      body: deviceBody(id, canCommand),
    });
  });

  app.get('/alerts', async (req, reply) => {
    const user = await requireUser(req, reply);
    if (!user) return reply;
    const q = req.query as Query;
    // `any` is how the page's own URL says "every state" (an empty value would read as "not given").
    const state =
      q.state === 'any' ? '' : HISTORY_STATES.some(([v]) => v && v === q.state) ? str(q.state) : 'resolved';
    const ruleId = /^[0-9]{1,12}$/.test(str(q.ruleId)) ? str(q.ruleId) : '';
    const canAck = hasRole(user, 'operator');
    const canEdit = hasRole(user, 'admin');
    return send(reply, {
      title: 'Alerts',
      script: 'alerts',
      nav: 'alerts',
      user,
      data: { ack: canAck ? 'yes' : 'no', edit: canEdit ? 'yes' : 'no' },
      body: alertsBody({ state, deviceId: str(q.deviceId, 64), ruleId }, canEdit),
    });
  });

  app.get('/stats', async (req, reply) => {
    const user = await requireUser(req, reply);
    if (!user) return reply;
    return send(reply, { title: 'Ingest', script: 'stats', nav: 'stats', user, body: statsBody() });
  });

  app.get('/messages', async (req, reply) => {
    const user = await requireUser(req, reply);
    if (!user) return reply;
    const q = req.query as Query;
    const body = messagesBody({ device: str(q.device, 64), from: str(q.from, 40), to: str(q.to, 40) });
    return send(reply, { title: 'Message log', script: 'messages', nav: 'messages', user, body });
  });

  app.get('/users', async (req, reply) => {
    const user = await requireUser(req, reply);
    if (!user) return reply;
    if (!hasRole(user, 'admin')) {
      const body = errorBody(
        'Admins only',
        'Managing users needs the admin role. Ask an admin to change yours.',
      );
      return send(reply, { title: 'Users', script: 'shell', nav: 'users', user, body }, 403);
    }
    return send(reply, { title: 'Users', script: 'users', nav: 'users', user, body: usersBody() });
  });
}
