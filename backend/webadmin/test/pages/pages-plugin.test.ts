import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The built plugin (dist) finds the bundle next to it, as the service does: `npm run build` comes first.
import { pagesPlugin, type PageUser } from '@sensorfleet/webadmin/pages/index';

let app: FastifyInstance;
let user: PageUser | undefined;

beforeAll(async () => {
  app = Fastify();
  await app.register(pagesPlugin, { resolveUser: async () => user });
  await app.ready();
});
afterAll(() => app.close());

const PAGES = ['/', '/devices/sim-001', '/alerts', '/stats', '/messages', '/users'];

describe('pages plugin', () => {
  it('redirects a stranger to /login with the page to come back to', async () => {
    user = undefined;
    for (const url of PAGES) {
      const r = await app.inject({ url });
      expect(r.statusCode).toBe(302);
      expect(r.headers.location).toBe(`/login?next=${encodeURIComponent(url)}`);
    }
  });

  it('serves every page with a strict CSP and no inline script or style', async () => {
    user = { username: 'ann', role: 'admin' };
    for (const url of [...PAGES, '/login?next=/stats']) {
      user = url.startsWith('/login') ? undefined : { username: 'ann', role: 'admin' };
      const r = await app.inject({ url });
      expect(r.statusCode, url).toBe(200);
      const csp = String(r.headers['content-security-policy']);
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toContain('unsafe-inline');
      expect(r.headers['cache-control']).toBe('no-store');
      expect(r.body).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // every script is a file
      expect(r.body).not.toMatch(/\sstyle=|<style/);
      expect(r.body).not.toMatch(/\son[a-z]+=/);
    }
  });

  it('escapes what comes from the URL', async () => {
    user = { username: '<b>ann</b>', role: 'operator' };
    const r = await app.inject({ url: `/messages?device=${encodeURIComponent('"><img src=x onerror=1>')}` });
    expect(r.body).not.toContain('<img src=x');
    expect(r.body).toContain('&quot;&gt;&lt;img src=x onerror=1&gt;');
    expect(r.body).toContain('&lt;b&gt;ann&lt;/b&gt;');
  });

  it('shows the users page to admins only, and command buttons to operators and up', async () => {
    user = { username: 'vic', role: 'viewer' };
    expect((await app.inject({ url: '/users' })).statusCode).toBe(403);
    expect((await app.inject({ url: '/devices/d1' })).body).not.toContain('data-command="stop"');
    user = { username: 'otto', role: 'operator' };
    expect((await app.inject({ url: '/devices/d1' })).body).toContain('data-command="stop"');
    expect((await app.inject({ url: '/' })).body).not.toContain('href="/users"');
  });

  it('offers acknowledging to operators and the rule editor to admins only', async () => {
    user = { username: 'vic', role: 'viewer' };
    let body = (await app.inject({ url: '/alerts' })).body;
    expect(body).toContain('data-ack="no"');
    expect(body).not.toContain('id="rule-form"');
    user = { username: 'otto', role: 'operator' };
    body = (await app.inject({ url: '/alerts' })).body;
    expect(body).toContain('data-ack="yes"');
    expect(body).not.toContain('id="rule-form"');
    user = { username: 'ann', role: 'admin' };
    body = (await app.inject({ url: '/alerts?state=any&deviceId=%22%3E%3Cb%3E' })).body;
    expect(body).toContain('id="rule-form"');
    expect(body).toContain('value="&quot;&gt;&lt;b&gt;"');
    expect(body).toMatch(/<option value=""\s+selected>Any state<\/option>/);
  });

  it('serves versioned assets for good and sends a signed-in user away from /login', async () => {
    user = { username: 'ann', role: 'admin' };
    const page = await app.inject({ url: '/' });
    const src = /<script type="module" src="([^"]+)"/.exec(page.body)?.[1];
    expect(src).toMatch(/^\/assets\/fleet\.js\?v=[0-9a-f]{12}$/);
    const js = await app.inject({ url: src! });
    expect(js.statusCode).toBe(200);
    expect(js.headers['content-type']).toContain('text/javascript');
    expect(js.headers['cache-control']).toContain('immutable');
    expect((await app.inject({ url: '/assets/nope.js' })).statusCode).toBe(404);
    const login = await app.inject({ url: '/login?next=%2Fstats' });
    expect(login.statusCode).toBe(302);
    expect(login.headers.location).toBe('/stats');
  });
});
