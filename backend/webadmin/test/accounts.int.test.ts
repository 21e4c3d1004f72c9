import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ORIGIN, WebadminRig } from './support/webadmin-rig.js';

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist/cli/user.js');

let rig: WebadminRig;
beforeAll(async () => {
  rig = await WebadminRig.start({
    env: { LOGIN_MAX_FAILURES_PER_USER: '3', LOGIN_MAX_FAILURES_PER_IP: '6' },
  });
});
afterAll(async () => {
  await rig?.close();
});

function cli(args: string[], stdin = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH, DATABASE_URL: rig.databaseUrl },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    p.stdin.end(stdin);
  });
}

const login = (username: string, password: string, ip = '10.0.0.1') =>
  rig.app.inject({
    method: 'POST',
    url: '/api/session',
    headers: { origin: ORIGIN },
    remoteAddress: ip,
    payload: { username, password },
  });

describe('the user CLI', () => {
  it('adds a user with the password from stdin’s first line, and the user can log in', async () => {
    const r = await cli(['add', 'carol', '--role', 'operator'], 'carol-password-1\nignored\n');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    expect((await login('carol', 'carol-password-1')).json()).toMatchObject({
      username: 'carol',
      role: 'operator',
    });
    const hash = await rig.query<{ password_hash: string }>(
      "SELECT password_hash FROM webadmin_users WHERE username = 'carol'",
    );
    expect(hash[0]!.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  });

  it('prints a generated password once and a token alone on the last line of stdout', async () => {
    const add = await cli(['add', 'dave', '--generate']);
    expect(add.code, add.stderr).toBe(0);
    const password = add.stdout.trim();
    expect(password).toMatch(/^[\w-]{20,}$/);
    expect((await login('dave', password)).statusCode).toBe(200);
    const t = await cli(['token', 'dave', '--label', 'script']);
    expect(t.code, t.stderr).toBe(0);
    const lines = t.stdout.trimEnd().split('\n');
    const token = lines[lines.length - 1]!;
    expect(token).toMatch(/^sft_[0-9a-f]+_[\w-]{43}$/);
    expect(t.stderr).toMatch(/shown once/);
    const who = await rig.app.inject({ url: '/api/session', headers: { authorization: `Bearer ${token}` } });
    expect(who.json()).toMatchObject({ username: 'dave', role: 'viewer' });
    const stored = await rig.query<{ token_hash: string }>('SELECT token_hash FROM api_tokens');
    expect(stored.some((s) => s.token_hash.includes(token))).toBe(false);
    const list = await cli(['list']);
    expect(list.stdout).toMatch(/dave\s+viewer/);
    const id = /^(tok_\w+)\s+dave/m.exec(list.stdout)?.[1];
    expect(id).toBeDefined();
    expect((await cli(['revoke', id!])).code).toBe(0);
    const after = await rig.app.inject({
      url: '/api/session',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(after.statusCode).toBe(401);
  });

  it('refuses bad usage with exit code 2', async () => {
    expect((await cli(['add', 'x y'], 'password123\n')).code).toBe(2);
    expect((await cli(['add', 'carol'], 'password123\n')).code).toBe(2);
    expect((await cli(['frobnicate'])).code).toBe(2);
    expect((await cli(['add', 'erin', '--role', 'god'], 'password123\n')).code).toBe(2);
  });

  it('ends sessions when the password is reset or the user is removed', async () => {
    await cli(['add', 'frank'], 'frank-password\n');
    const session = (await login('frank', 'frank-password')).headers['set-cookie'] as string;
    const cookie = session.split(';')[0]!;
    const who = () => rig.app.inject({ url: '/api/session', headers: { cookie } }).then((r) => r.statusCode);
    expect(await who()).toBe(200);
    expect((await cli(['reset', 'frank'], 'frank-password-2\n')).code).toBe(0);
    expect(await who()).toBe(401);
    const again = ((await login('frank', 'frank-password-2')).headers['set-cookie'] as string).split(';')[0]!;
    expect((await cli(['remove', 'frank'])).code).toBe(0);
    expect((await rig.app.inject({ url: '/api/session', headers: { cookie: again } })).statusCode).toBe(401);
  });
});

describe('sessions and logins', () => {
  it('ends a session at its expiry', async () => {
    await rig.addUser('gina', 'viewer');
    const l = await rig.login('gina');
    await rig.query("UPDATE sessions SET expires_at = NOW(3) - INTERVAL 1 SECOND WHERE username = 'gina'");
    expect((await rig.app.inject({ url: '/api/session', headers: { cookie: l.cookie } })).statusCode).toBe(
      401,
    );
  });

  it('gives a new session id at every login', async () => {
    await rig.addUser('hal', 'viewer');
    const a = await rig.login('hal');
    const b = await rig.app.inject({
      method: 'POST',
      url: '/api/session',
      headers: { origin: ORIGIN, cookie: a.cookie },
      payload: { username: 'hal', password: 'pw-hal-secret' },
    });
    const cookie = (b.headers['set-cookie'] as string).split(';')[0]!;
    expect(cookie).not.toBe(a.cookie);
    expect((await rig.app.inject({ url: '/api/session', headers: { cookie: a.cookie } })).statusCode).toBe(
      401,
    );
  });

  it('rate-limits failed logins per user name, even with the right password after that', async () => {
    await rig.addUser('ivan', 'viewer');
    for (let i = 0; i < 3; i++) expect((await login('ivan', 'wrong', `10.1.0.${i}`)).statusCode).toBe(401);
    const limited = await login('ivan', 'pw-ivan-secret', '10.1.0.9');
    expect(limited.statusCode).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect((await login('gina', 'pw-gina-secret', '10.1.0.9')).statusCode).toBe(200);
  });

  it('rate-limits failed logins per client IP across user names', async () => {
    for (let i = 0; i < 6; i++) expect((await login(`nobody-${i}`, 'x', '10.2.0.1')).statusCode).toBe(401);
    expect((await login('gina', 'pw-gina-secret', '10.2.0.1')).statusCode).toBe(429);
    expect((await login('gina', 'pw-gina-secret', '10.2.0.2')).statusCode).toBe(200);
  });

  it('rehashes a password made with weaker parameters at login', async () => {
    const { hash } = await import('@node-rs/argon2');
    const weak = await hash('old-params-pw', { memoryCost: 8192, timeCost: 1, parallelism: 1, algorithm: 2 });
    await rig.query("INSERT INTO webadmin_users (username, password_hash, role) VALUES ('jo', ?, 'viewer')", [
      weak,
    ]);
    expect((await login('jo', 'old-params-pw')).statusCode).toBe(200);
    const [row] = await rig.query<{ password_hash: string }>(
      "SELECT password_hash FROM webadmin_users WHERE username = 'jo'",
    );
    expect(row!.password_hash).toMatch(/m=19456,t=2,p=1/);
  });
});
