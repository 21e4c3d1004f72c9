import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ORIGIN, WebadminRig, type Login } from './support/webadmin-rig.js';

let rig: WebadminRig;
let root: Login;
beforeAll(async () => {
  rig = await WebadminRig.start();
  await rig.addUser('root', 'admin');
  root = await rig.login('root');
});
afterAll(async () => {
  await rig?.close();
});

const api = async (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object, as = root) => {
  const r = await rig.app.inject({
    method,
    url,
    headers: WebadminRig.browser(as),
    ...(payload ? { payload } : {}),
  });
  return { status: r.statusCode, body: r.body ? (r.json() as Record<string, unknown>) : {} };
};

describe('accounts API (admin)', () => {
  it('adds a user with a generated password shown once, who can then log in', async () => {
    const r = await api('POST', '/api/users', { username: 'kim', role: 'operator' });
    expect(r.status).toBe(201);
    const password = r.body.generatedPassword as string;
    expect(password.length).toBeGreaterThan(16);
    expect(r.body.user).toMatchObject({ username: 'kim', role: 'operator', sessions: 0 });
    expect((await rig.login('kim', password)).username).toBe('kim');
    expect((await api('POST', '/api/users', { username: 'kim', role: 'viewer' })).status).toBe(409);
    const list = await api('GET', '/api/users');
    expect((list.body.users as { username: string }[]).map((u) => u.username)).toEqual(['kim', 'root']);
  });

  it('changes role and password; a new password ends the user’s sessions', async () => {
    await rig.addUser('lee', 'viewer');
    const lee = await rig.login('lee');
    const r = await api('PATCH', '/api/users/lee', { role: 'operator', password: 'a-new-password' });
    expect(r.status).toBe(200);
    expect(r.body.user).toMatchObject({ role: 'operator', sessions: 0 });
    expect((await rig.app.inject({ url: '/api/session', headers: { cookie: lee.cookie } })).statusCode).toBe(
      401,
    );
    expect((await rig.login('lee', 'a-new-password')).username).toBe('lee');
  });

  it('refuses to remove or demote the last admin', async () => {
    expect((await api('PATCH', '/api/users/root', { role: 'viewer' })).status).toBe(409);
    expect((await api('DELETE', '/api/users/root')).status).toBe(409);
    await rig.addUser('max', 'admin');
    expect((await api('PATCH', '/api/users/max', { role: 'viewer' })).status).toBe(200);
    expect((await api('DELETE', '/api/users/nobody')).status).toBe(404);
  });

  it('issues and revokes API tokens, and shows the audit log', async () => {
    const t = await api('POST', '/api/users/kim/tokens', { label: 'ci' });
    expect(t.status).toBe(201);
    const token = t.body.token as string;
    const who = await rig.app.inject({ url: '/api/session', headers: { authorization: `Bearer ${token}` } });
    expect(who.json()).toMatchObject({ username: 'kim' });
    const listed = await api('GET', '/api/users/kim/tokens');
    expect(listed.body.tokens).toEqual([expect.objectContaining({ id: t.body.id, label: 'ci' })]);
    expect((await api('DELETE', `/api/tokens/${t.body.id as string}`)).status).toBe(204);
    expect(
      (await rig.app.inject({ url: '/api/session', headers: { authorization: `Bearer ${token}` } }))
        .statusCode,
    ).toBe(401);
    const audit = await api('GET', '/api/audit-log?limit=100');
    const actions = (audit.body.entries as { action: string; actor: string }[]).map((e) => e.action);
    for (const a of ['login_ok', 'user_add', 'user_role', 'user_reset', 'token_add', 'token_revoke'])
      expect(actions).toContain(a);
  });

  it('removes a user with its sessions', async () => {
    await rig.addUser('ned', 'viewer');
    const ned = await rig.login('ned');
    expect((await api('DELETE', '/api/users/ned')).status).toBe(204);
    expect(
      (await rig.app.inject({ url: '/api/session', headers: { cookie: ned.cookie, origin: ORIGIN } }))
        .statusCode,
    ).toBe(401);
  });
});
