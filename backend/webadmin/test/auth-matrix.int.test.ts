import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouteEntry } from '../src/app.js';
import { ApiTokenStore } from '../src/auth/api-token-store.js';
import { hasRole, ROLES, type Role } from '../src/auth/roles.js';
import { ORIGIN, WebadminRig, type Login } from './support/webadmin-rig.js';

/**
 * The access rules of every API route, generated from the routes the app registered (app.routeTable), so a
 * route added later is checked without anyone remembering to add it here.
 */
const PUBLIC = new Set(['GET /api/health', 'POST /api/session', 'DELETE /api/session']);
const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

let rig: WebadminRig;
const logins = new Map<Role, Login>();
let viewerToken: string;
let routes: RouteEntry[];

const idFor = (url: string) =>
  url.startsWith('/api/tokens') ? 'tok_00' : url.startsWith('/api/alert') ? '999' : 'matrix-dev';
const urlOf = (r: RouteEntry) => r.url.replace(':id', idFor(r.url)).replace(':username', 'matrix-nobody');
const needed = (r: RouteEntry): Role =>
  typeof r.auth === 'string' && r.auth !== 'optional' ? r.auth : 'viewer';

beforeAll(async () => {
  rig = await WebadminRig.start();
  await rig.addDevice('matrix-dev');
  for (const role of ROLES) {
    await rig.addUser(role, role);
    logins.set(role, await rig.login(role));
  }
  viewerToken = (await new ApiTokenStore(rig.pool).create('viewer', 'matrix')).token;
  routes = rig.app.routeTable.filter((r) => r.url.startsWith('/api') && !PUBLIC.has(`${r.method} ${r.url}`));
});
afterAll(async () => {
  await rig?.close();
});

describe('the auth matrix of every /api route', () => {
  it('covers the routes of the contract', () => {
    const keys = routes.map((r) => `${r.method} ${r.url}`);
    for (const k of [
      'GET /api/session',
      'GET /api/devices',
      'GET /api/devices/:id',
      'PATCH /api/devices/:id',
      'GET /api/devices/:id/readings',
      'GET /api/devices/:id/readings.csv',
      'GET /api/devices/:id/completeness',
      'POST /api/devices/:id/commands',
      'GET /api/devices/:id/commands',
      'GET /api/commands/:id',
      'GET /api/stats',
      'GET /api/message-log',
      'GET /api/users',
      'POST /api/users',
      'PATCH /api/users/:username',
      'DELETE /api/users/:username',
      'POST /api/users/:username/tokens',
      'DELETE /api/tokens/:id',
      'GET /api/audit-log',
      'GET /api/alert-rules',
      'POST /api/alert-rules',
      'POST /api/alert-rules/preview',
      'GET /api/alert-rules/:id',
      'PATCH /api/alert-rules/:id',
      'DELETE /api/alert-rules/:id',
      'GET /api/alerts',
      'GET /api/alerts/:id',
      'POST /api/alerts/:id/ack',
    ])
      expect(keys).toContain(k);
  });

  it('lets viewers read alerts and rules, operators acknowledge, admins manage rules', () => {
    const role = (k: string) => needed(routes.find((r) => `${r.method} ${r.url}` === k)!);
    for (const k of [
      'GET /api/alert-rules',
      'GET /api/alert-rules/:id',
      'GET /api/alerts',
      'GET /api/alerts/:id',
    ])
      expect(role(k), k).toBe('viewer');
    expect(role('POST /api/alerts/:id/ack')).toBe('operator');
    for (const k of [
      'POST /api/alert-rules',
      'POST /api/alert-rules/preview',
      'PATCH /api/alert-rules/:id',
      'DELETE /api/alert-rules/:id',
    ])
      expect(role(k), k).toBe('admin');
  });

  it('answers 401 without a session or token, before looking at the input', async () => {
    for (const r of routes) {
      // Garbage query and body: a stranger must get 401, not a 400 describing what the route accepts.
      const res = await rig.app.inject({
        method: r.method as 'GET',
        url: `${urlOf(r)}?maxPoints=nope&limit=-1`,
        headers: { origin: ORIGIN },
        ...(STATE_CHANGING.has(r.method) ? { payload: { nonsense: true } } : {}),
      });
      expect(res.statusCode, `${r.method} ${r.url}`).toBe(401);
      expect(res.headers['content-type']).toMatch(/application\/json/);
      expect(res.json()).toMatchObject({ error: 'unauthorized' });
    }
  });

  it('answers 401 for a bearer token that is not valid', async () => {
    for (const r of routes) {
      const res = await rig.app.inject({
        method: r.method as 'GET',
        url: urlOf(r),
        headers: { authorization: 'Bearer sft_nothing_here' },
      });
      expect(res.statusCode, `${r.method} ${r.url}`).toBe(401);
    }
  });

  it('answers 403 for every role below the one a route needs', async () => {
    let checked = 0;
    for (const r of routes) {
      for (const role of ROLES) {
        if (hasRole(role, needed(r))) continue;
        const res = await rig.app.inject({
          method: r.method as 'GET',
          url: urlOf(r),
          headers: WebadminRig.browser(logins.get(role)!),
          ...(STATE_CHANGING.has(r.method) ? { payload: {} } : {}),
        });
        expect(res.statusCode, `${role}: ${r.method} ${r.url}`).toBe(403);
        expect(res.json()).toMatchObject({ error: 'forbidden' });
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(0);
  });

  it('lets every role at or above the needed one through (any answer but 401/403)', async () => {
    for (const r of routes) {
      for (const role of ROLES) {
        if (!hasRole(role, needed(r))) continue;
        const res = await rig.app.inject({
          method: r.method as 'GET',
          url: urlOf(r),
          headers: WebadminRig.browser(logins.get(role)!),
          ...(STATE_CHANGING.has(r.method) ? { payload: {} } : {}),
        });
        expect([401, 403], `${role}: ${r.method} ${r.url} → ${res.statusCode} ${res.body}`).not.toContain(
          res.statusCode,
        );
      }
    }
  });

  it('refuses cookie-session state changes without the CSRF token, with a wrong one, or from another origin', async () => {
    const changing = routes.filter((r) => STATE_CHANGING.has(r.method) && r.csrf);
    expect(changing.length).toBeGreaterThan(0);
    const admin = logins.get('admin')!;
    for (const r of changing) {
      const cases: Record<string, string>[] = [
        { cookie: admin.cookie, origin: ORIGIN },
        { cookie: admin.cookie, origin: ORIGIN, 'x-csrf-token': 'wrong' },
        { cookie: admin.cookie, origin: 'https://evil.example', 'x-csrf-token': admin.csrfToken },
        { cookie: admin.cookie, 'x-csrf-token': admin.csrfToken },
      ];
      for (const headers of cases) {
        const res = await rig.app.inject({ method: r.method as 'POST', url: urlOf(r), headers, payload: {} });
        expect(res.statusCode, `${r.method} ${r.url} ${JSON.stringify(Object.keys(headers))}`).toBe(403);
        expect(res.json()).toMatchObject({ error: 'csrf' });
      }
    }
  });

  it('needs no CSRF token for bearer requests', async () => {
    const operatorToken = (await new ApiTokenStore(rig.pool).create('operator')).token;
    const res = await rig.app.inject({
      method: 'PATCH',
      url: '/api/devices/matrix-dev',
      headers: { authorization: `Bearer ${operatorToken}` },
      payload: { name: 'Matrix device' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ name: 'Matrix device' });
    const viewer = await rig.app.inject({
      method: 'PATCH',
      url: '/api/devices/matrix-dev',
      headers: { authorization: `Bearer ${viewerToken}` },
      payload: { name: 'x' },
    });
    expect(viewer.statusCode).toBe(403);
  });

  it('refuses a login posted from a foreign page', async () => {
    const res = await rig.app.inject({
      method: 'POST',
      url: '/api/session',
      headers: { origin: 'https://evil.example' },
      payload: { username: 'viewer', password: 'pw-viewer-secret' },
    });
    expect(res.statusCode).toBe(403);
  });

  it('keeps /api/health public', async () => {
    const res = await rig.app.inject({ url: '/api/health' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ ok: true });
  });

  it('serves the OpenAPI document with every API route', async () => {
    const res = await rig.app.inject({ url: '/docs/json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json() as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toMatch(/^3\./);
    for (const r of rig.app.routeTable.filter((x) => x.url.startsWith('/api'))) {
      expect(Object.keys(doc.paths)).toContain(r.url.replace(/:(\w+)/g, '{$1}'));
    }
  });
});
