import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ORIGIN, WebadminRig } from './support/webadmin-rig.js';

let rig: WebadminRig;
beforeAll(async () => {
  rig = await WebadminRig.start();
  await rig.addUser('alice', 'viewer');
});
afterAll(async () => {
  await rig?.close();
});

describe('sessions', () => {
  it('logs in with a HttpOnly SameSite=Lax cookie and tells who is signed in', async () => {
    const r = await rig.app.inject({
      method: 'POST',
      url: '/api/session',
      headers: { origin: ORIGIN },
      payload: { username: 'alice', password: 'pw-alice-secret' },
    });
    expect(r.statusCode).toBe(200);
    const cookie = String(r.headers['set-cookie']);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
    expect(cookie).toMatch(/Path=\//);
    expect(cookie).not.toMatch(/Secure/);
    const who = await rig.app.inject({ url: '/api/session', headers: { cookie: cookie.split(';')[0]! } });
    expect(who.json()).toMatchObject({ username: 'alice', role: 'viewer' });
    expect((who.json() as { csrfToken: string }).csrfToken.length).toBeGreaterThan(20);
  });

  it('refuses a wrong password with 401 and audits it', async () => {
    const r = await rig.app.inject({
      method: 'POST',
      url: '/api/session',
      headers: { origin: ORIGIN },
      payload: { username: 'alice', password: 'nope' },
    });
    expect(r.statusCode).toBe(401);
    const rows = await rig.query<{ action: string }>("SELECT action FROM audit_log WHERE target = 'alice'");
    expect(rows.map((x) => x.action)).toContain('login_failed');
  });

  it('ends the session at logout, and logging out again is still 204', async () => {
    const login = await rig.login('alice');
    const out = await rig.app.inject({
      method: 'DELETE',
      url: '/api/session',
      headers: WebadminRig.browser(login),
    });
    expect(out.statusCode).toBe(204);
    const who = await rig.app.inject({ url: '/api/session', headers: { cookie: login.cookie } });
    expect(who.statusCode).toBe(401);
    const again = await rig.app.inject({
      method: 'DELETE',
      url: '/api/session',
      headers: WebadminRig.browser(login),
    });
    expect(again.statusCode).toBe(204);
  });
});
