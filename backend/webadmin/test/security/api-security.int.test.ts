import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { RouteEntry } from '../../src/app.js';
import { ApiTokenStore } from '../../src/auth/api-token-store.js';
import { ARGON2_PARAMS } from '../../src/auth/passwords.js';
import { hasRole, ROLES, type Role } from '../../src/auth/roles.js';
import { ORIGIN, WebadminRig, type Login } from '../support/webadmin-rig.js';

/*
 * The web admin's security properties through its real routes (fastify inject, and real sockets for /ws)
 * on a private MariaDB: the access rule of every route the app registers (pages and /ws included, the
 * public ones on an explicit list), sessions (fixation, logout), password hashing, response headers, SQL
 * injection in every parameter the OpenAPI document declares, oversized bodies, and secrets in answers.
 * The per-role matrix of the /api routes themselves is in ../auth-matrix.int.test.ts.
 */

/** Every route anyone may call without signing in. A new public route must be added here on purpose. */
const PUBLIC = new Set([
  'GET /api/health',
  'POST /api/session',
  'DELETE /api/session',
  'GET /login',
  'GET /assets/*',
  'GET /favicon.ico',
  'GET /docs',
  'GET /docs/json',
  'GET /docs/yaml',
  'GET /docs/static/*',
  'GET /docs/static/index.html',
  'GET /docs/static/swagger-initializer.js',
]);
/** Pages that need more than a viewer (the pages check it themselves; the route config says nothing). */
const PAGE_ROLES: Record<string, Role> = { '/users': 'admin' };
const DEVICE = 'sec-dev';
const SQLI = [
  "' OR '1'='1",
  "'; DROP TABLE readings; --",
  '" OR ""="',
  "1' UNION SELECT username, password_hash FROM webadmin_users --",
  "sec-dev' AND SLEEP(2) --",
  '1; DELETE FROM devices',
  "\\'; UPDATE devices SET name='pwned'; --",
  '%27%20OR%201%3D1',
  "1e3' OR 1=1#",
  '\u0000',
  '`id`',
  'sec-dev/*',
];

let rig: WebadminRig;
const logins = new Map<Role, Login>();
let adminToken: string;
let routes: RouteEntry[];
let wsBase: string;
const sockets: WebSocket[] = [];

const key = (r: RouteEntry) => `${r.method} ${r.url}`;
const concreteUrl = (url: string) =>
  url
    .replace(
      ':id',
      url.startsWith('/api/tokens') ? 'tok_00' : url.startsWith('/api/commands') ? 'c-1' : DEVICE,
    )
    .replace(':username', 'viewer')
    .replace('*', 'app.js');
const isPage = (r: RouteEntry) => !r.url.startsWith('/api') && r.url !== '/ws' && !PUBLIC.has(key(r));
const neededRole = (r: RouteEntry): Role =>
  isPage(r)
    ? (PAGE_ROLES[r.url] ?? 'viewer')
    : typeof r.auth === 'string' && r.auth !== 'optional'
      ? r.auth
      : 'viewer';

/** A table's content, to show that a request changed nothing. */
async function fingerprint(): Promise<string> {
  const tables = [
    'devices',
    'readings',
    'webadmin_users',
    'sessions',
    'api_tokens',
    'commands',
    'message_log',
  ];
  const rows = await rig.query<{ Table: string; Checksum: number | null }>(
    `CHECKSUM TABLE ${tables.join(', ')}`,
  );
  return rows.map((r) => `${r.Table}=${r.Checksum}`).join(' ');
}

function openSocket(headers: Record<string, string>): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsBase, { headers });
    sockets.push(ws);
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

beforeAll(async () => {
  rig = await WebadminRig.start({ pages: true });
  await rig.addDevice(DEVICE, { online: true, state: { v: 1, running: true } });
  await rig.query(
    'INSERT INTO readings (device_id, seq, sensor, value, measured_at, received_at, batch_id) VALUES' +
      " (?, 1, 'temperature', 21.5, NOW(3) - INTERVAL 1 MINUTE, NOW(3), 1)",
    [DEVICE],
  );
  for (const role of ROLES) {
    await rig.addUser(role, role);
    logins.set(role, await rig.login(role));
  }
  adminToken = (await new ApiTokenStore(rig.pool).create('admin', 'security')).token;
  routes = rig.app.routeTable;
  await rig.app.listen({ port: 0, host: '127.0.0.1' });
  wsBase = `ws://127.0.0.1:${(rig.app.server.address() as AddressInfo).port}/ws`;
});

afterAll(async () => {
  for (const s of sockets) s.terminate();
  await rig?.close();
});

describe('every route the app registers', () => {
  it('is on the public list, or refuses a stranger (401 for the API and /ws, the login page for pages)', async () => {
    const keys = new Set(routes.map(key));
    for (const k of PUBLIC) expect(keys, `stale public entry ${k}`).toContain(k);
    let refused = 0;
    for (const r of routes) {
      if (PUBLIC.has(key(r))) continue;
      const res = await rig.app.inject({
        method: r.method as 'GET',
        url: concreteUrl(r.url),
        headers: { origin: ORIGIN },
      });
      if (isPage(r)) {
        expect([302, 303], `${key(r)} → ${res.statusCode}`).toContain(res.statusCode);
        expect(res.headers.location).toMatch(/^\/login\?next=/);
      } else {
        expect(res.statusCode, `${key(r)} is not on the public list but answered a stranger`).toBe(401);
        expect(res.json()).toMatchObject({ error: 'unauthorized' });
      }
      refused++;
    }
    expect(refused).toBeGreaterThan(25);
  });

  it('refuses roles below the one a page or /ws needs with 403, and lets the others in', async () => {
    for (const r of routes.filter((x) => x.method === 'GET' && (isPage(x) || x.url === '/ws'))) {
      for (const role of ROLES) {
        const res = await rig.app.inject({
          url: concreteUrl(r.url),
          headers: { cookie: logins.get(role)!.cookie },
        });
        if (hasRole(role, neededRole(r)))
          expect([401, 403], `${role} ${key(r)}`).not.toContain(res.statusCode);
        else expect(res.statusCode, `${role} ${key(r)}`).toBe(403);
      }
    }
  });
});

describe('the live socket', () => {
  it('opens for a session from our origin and for a valid bearer token only', async () => {
    await expect(openSocket({})).rejects.toThrow('HTTP 401');
    await expect(openSocket({ authorization: 'Bearer sft_not_a_token' })).rejects.toThrow('HTTP 401');
    await expect(openSocket({ cookie: 'sf_session=' + 'x'.repeat(43) })).rejects.toThrow('HTTP 401');
    await expect(
      openSocket({ cookie: logins.get('viewer')!.cookie, origin: 'https://evil.example' }),
    ).rejects.toThrow('HTTP 403');
    (await openSocket({ cookie: logins.get('viewer')!.cookie, origin: ORIGIN })).close();
    (await openSocket({ authorization: `Bearer ${adminToken}` })).close();
  });

  it('closes a socket that sends a frame over 64 KiB', async () => {
    const ws = await openSocket({ cookie: logins.get('viewer')!.cookie, origin: ORIGIN });
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    ws.send(JSON.stringify({ subscribe: ['x'.repeat(70 * 1024)] }));
    expect(await closed).toBe(1009); // "message too big"
  });
});

describe('sessions', () => {
  it('never adopts a session id chosen by someone else (fixation)', async () => {
    const planted = 'sf_session=' + 'A'.repeat(43);
    const r = await rig.app.inject({
      method: 'POST',
      url: '/api/session',
      headers: { origin: ORIGIN, cookie: planted },
      payload: { username: 'viewer', password: 'pw-viewer-secret' },
    });
    expect(r.statusCode).toBe(200);
    const issued = String(r.headers['set-cookie']).split(';')[0]!;
    expect(issued).not.toBe(planted);
    expect(issued.split('=')[1]!.length).toBeGreaterThanOrEqual(32);
    expect((await rig.app.inject({ url: '/api/session', headers: { cookie: planted } })).statusCode).toBe(
      401,
    );
    expect((await rig.app.inject({ url: '/api/session', headers: { cookie: issued } })).statusCode).toBe(200);
  });

  it('refuses the old cookie everywhere after logout: API, state changes, pages and /ws', async () => {
    await rig.addUser('leaver', 'admin');
    const l = await rig.login('leaver');
    const open = await openSocket({ cookie: l.cookie, origin: ORIGIN });
    const closed = new Promise<string>((resolve) =>
      open.once('close', (code, reason) => resolve(`${code} ${reason.toString()}`)),
    );
    expect(
      (await rig.app.inject({ method: 'DELETE', url: '/api/session', headers: WebadminRig.browser(l) }))
        .statusCode,
    ).toBe(204);
    // Closed by the logout itself ('signed out'), not by the periodic check ('session ended') later.
    expect(await closed).toBe('4401 signed out');
    expect((await rig.app.inject({ url: '/api/devices', headers: { cookie: l.cookie } })).statusCode).toBe(
      401,
    );
    const patch = await rig.app.inject({
      method: 'PATCH',
      url: `/api/devices/${DEVICE}`,
      headers: WebadminRig.browser(l),
      payload: { name: 'after logout' },
    });
    expect(patch.statusCode).toBe(401);
    const page = await rig.app.inject({ url: '/users', headers: { cookie: l.cookie } });
    expect(page.headers.location).toMatch(/^\/login/);
    await expect(openSocket({ cookie: l.cookie, origin: ORIGIN })).rejects.toThrow('HTTP 401');
    const [row] = await rig.query<{ n: number }>(
      "SELECT COUNT(*) AS n FROM sessions WHERE username = 'leaver'",
    );
    expect(Number(row!.n)).toBe(0);
  });
});

describe('password hashes', () => {
  it('are argon2id with at least OWASP’s parameters, salted per user, for every way a password is set', async () => {
    expect(ARGON2_PARAMS.memoryCost).toBeGreaterThanOrEqual(19456);
    expect(ARGON2_PARAMS.timeCost).toBeGreaterThanOrEqual(2);
    const admin = WebadminRig.browser(logins.get('admin')!);
    const add = await rig.app.inject({
      method: 'POST',
      url: '/api/users',
      headers: admin,
      payload: { username: 'hash-a', role: 'viewer', password: 'the same password' },
    });
    expect(add.statusCode).toBe(201);
    await rig.app.inject({
      method: 'POST',
      url: '/api/users',
      headers: admin,
      payload: { username: 'hash-b', role: 'viewer' },
    });
    const reset = await rig.app.inject({
      method: 'PATCH',
      url: '/api/users/hash-b',
      headers: admin,
      payload: { password: 'the same password' },
    });
    expect(reset.statusCode).toBe(200);
    const rows = await rig.query<{ username: string; password_hash: string }>(
      "SELECT username, password_hash FROM webadmin_users WHERE username IN ('hash-a', 'hash-b')",
    );
    expect(rows).toHaveLength(2);
    const phc = new RegExp(
      `^\\$argon2id\\$v=19\\$m=${ARGON2_PARAMS.memoryCost},t=${ARGON2_PARAMS.timeCost},p=${ARGON2_PARAMS.parallelism}\\$[A-Za-z0-9+/]{22,}\\$[A-Za-z0-9+/]{43,}$`,
    );
    for (const r of rows) expect(r.password_hash, r.username).toMatch(phc);
    expect(rows[0]!.password_hash).not.toBe(rows[1]!.password_hash);
  });
});

describe('response headers', () => {
  const strictCsp = (csp: unknown, what: string) => {
    expect(typeof csp, `${what}: no CSP`).toBe('string');
    expect(csp, what).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
    expect(csp, what).toMatch(/frame-ancestors 'none'/);
    expect(csp, what).toMatch(/default-src '(self|none)'/);
  };

  it('carry a strict CSP, nosniff and no framing on pages, assets, the API, errors and the API docs', async () => {
    const admin = { cookie: logins.get('admin')!.cookie };
    const cases: [string, Record<string, string>][] = [
      ['/login', {}],
      ['/', admin],
      [`/devices/${DEVICE}`, admin],
      ['/stats', admin],
      ['/messages', admin],
      ['/users', admin],
      ['/users', { cookie: logins.get('viewer')!.cookie }], // 403 page
      ['/stats', {}], // redirect to the login page
      ['/assets/no-such-file.js', {}],
      ['/no-such-page', admin],
      ['/api/devices', admin],
      ['/api/devices', {}], // 401
      [`/api/devices/${DEVICE}/readings.csv`, admin],
      ['/api/health', {}],
      ['/docs', {}],
      ['/docs/json', {}],
    ];
    for (const [url, headers] of cases) {
      const r = await rig.app.inject({ url, headers });
      const what = `${url} (${r.statusCode})`;
      strictCsp(r.headers['content-security-policy'], what);
      expect(r.headers['x-content-type-options'], what).toBe('nosniff');
      expect(r.headers['x-frame-options'], what).toBe('DENY');
      if (String(r.headers['content-type']).startsWith('text/html')) {
        expect(r.headers['content-security-policy'], what).toMatch(/script-src 'self'/);
      }
    }
  });
});

describe('SQL injection', () => {
  interface Param {
    name: string;
    in: 'query' | 'path';
  }
  it('in every parameter of every GET route of the OpenAPI document: no 500, no data changed', async () => {
    const doc = (await rig.app.inject({ url: '/docs/json' })).json() as {
      paths: Record<string, Record<string, { parameters?: Param[] }>>;
    };
    const before = await fingerprint();
    let requests = 0;
    for (const [path, ops] of Object.entries(doc.paths)) {
      const params = ops.get?.parameters ?? [];
      for (const p of params) {
        for (const evil of SQLI) {
          const pathParams: Record<string, string> = { id: DEVICE, username: 'viewer' };
          const query = new URLSearchParams(path.endsWith('/readings') ? { sensor: 'temperature' } : {});
          if (p.in === 'path') pathParams[p.name] = evil;
          else query.set(p.name, evil);
          const url = path.replace(/\{(\w+)\}/g, (_m, n: string) => encodeURIComponent(pathParams[n] ?? 'x'));
          const qs = query.toString();
          const r = await rig.app.inject({
            url: qs ? `${url}?${qs}` : url,
            headers: { authorization: `Bearer ${adminToken}` },
          });
          expect(
            r.statusCode,
            `${path} ${p.in}.${p.name}=${evil} → ${r.statusCode} ${r.body.slice(0, 200)}`,
          ).toBeLessThan(500);
          expect(r.body).not.toMatch(/\$argon2|SQL syntax|ER_PARSE|mariadb/i);
          requests++;
        }
      }
    }
    expect(requests).toBeGreaterThan(100);
    expect(await fingerprint()).toBe(before);
  });

  it('in bodies and the login: stored as text or refused, never run', async () => {
    const admin = WebadminRig.browser(logins.get('admin')!);
    for (const evil of SQLI.filter((s) => !s.includes('\u0000'))) {
      const r = await rig.app.inject({
        method: 'PATCH',
        url: `/api/devices/${DEVICE}`,
        headers: admin,
        payload: { name: evil },
      });
      expect(r.statusCode, evil).toBeLessThan(500);
      if (r.statusCode === 200) expect((r.json() as { name: string }).name).toBe(evil);
      const u = await rig.app.inject({
        method: 'POST',
        url: '/api/users',
        headers: admin,
        payload: { username: evil, role: 'admin' },
      });
      expect(u.statusCode, evil).toBe(400);
      const login = await rig.app.inject({
        method: 'POST',
        url: '/api/session',
        headers: { origin: ORIGIN },
        remoteAddress: '10.9.9.9',
        payload: { username: evil, password: evil },
      });
      expect([400, 401, 429], `${evil} → ${login.statusCode}`).toContain(login.statusCode);
    }
    const [dev] = await rig.query<{ n: number }>('SELECT COUNT(*) AS n FROM devices');
    expect(Number(dev!.n)).toBe(1);
    const users = await rig.query<{ username: string; role: string }>(
      'SELECT username, role FROM webadmin_users ORDER BY username',
    );
    expect(
      users
        .filter((x) => x.role === 'admin')
        .map((x) => x.username)
        .sort(),
    ).toEqual(['admin', 'leaver']);
  });
});

describe('oversized bodies', () => {
  it('are refused with 413 on every route that takes a body, before any handler runs', async () => {
    const admin = WebadminRig.browser(logins.get('admin')!);
    const big = JSON.stringify({ name: 'x'.repeat(65 * 1024) });
    const before = await fingerprint();
    const withBody = routes.filter((r) => ['POST', 'PATCH', 'PUT'].includes(r.method));
    expect(withBody.length).toBeGreaterThan(3);
    for (const r of withBody) {
      const res = await rig.app.inject({
        method: r.method as 'POST',
        url: concreteUrl(r.url),
        headers: { ...admin, 'content-type': 'application/json' },
        payload: big,
      });
      expect(res.statusCode, key(r)).toBe(413);
      expect(res.json()).toMatchObject({ error: expect.any(String) });
    }
    expect(await fingerprint()).toBe(before);
  });
});

describe('secrets in answers', () => {
  it('never include a password, a password hash, a session id or a stored token', async () => {
    const admin = WebadminRig.browser(logins.get('admin')!);
    const created = await rig.app.inject({
      method: 'POST',
      url: '/api/users/operator/tokens',
      headers: admin,
      payload: { label: 'leak-check' },
    });
    const token = (created.json() as { token: string }).token;
    const hashes = (
      await rig.query<{ password_hash: string }>('SELECT password_hash FROM webadmin_users')
    ).map((r) => r.password_hash);
    const tokenHashes = (await rig.query<{ token_hash: string }>('SELECT * FROM api_tokens')).flatMap((r) =>
      Object.values(r).filter((v): v is string => typeof v === 'string' && v.length >= 32),
    );
    const secrets = [
      ...hashes,
      ...hashes.map((h) => h.split('$').pop()!),
      ...tokenHashes,
      token,
      adminToken,
      ...ROLES.map((r) => `pw-${r}-secret`),
      ...[...logins.values()].map((l) => l.cookie.split('=')[1]!),
    ];
    const urls = [
      '/api/users',
      '/api/users/operator/tokens',
      '/api/users/admin/tokens',
      '/api/audit-log?limit=200',
      '/api/session',
      '/api/devices',
      `/api/devices/${DEVICE}`,
      '/docs/json',
      '/users',
      '/',
    ];
    for (const url of urls) {
      const r = await rig.app.inject({ url, headers: { cookie: logins.get('admin')!.cookie } });
      expect(r.statusCode, url).toBe(200);
      for (const s of secrets) expect(r.body.includes(s), `${url} contains a secret`).toBe(false);
      expect(r.body, url).not.toMatch(/\$argon2/);
    }
  });
});
