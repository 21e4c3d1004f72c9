import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebadminRig, type Login } from './support/webadmin-rig.js';

let rig: WebadminRig;
let op: Login;
beforeAll(async () => {
  rig = await WebadminRig.start();
  await rig.addUser('op', 'operator');
  await rig.addDevice('val-dev');
  op = await rig.login('op');
});
afterAll(async () => {
  await rig?.close();
});

async function call(method: 'GET' | 'POST' | 'PATCH', url: string, payload?: unknown) {
  const res = await rig.app.inject({
    method,
    url,
    headers: WebadminRig.browser(op),
    ...(payload !== undefined ? { payload: payload as object } : {}),
  });
  return { status: res.statusCode, body: res.json() as { error: string; message: string; field?: string } };
}

describe('bad input is a 400 naming the field', () => {
  it.each([
    [
      'GET',
      '/api/devices/val-dev/readings?sensor=temperature&maxPoints=5',
      undefined,
      'querystring.maxPoints',
    ],
    ['GET', '/api/devices/val-dev/readings?maxPoints=100', undefined, 'querystring.sensor'],
    ['GET', '/api/devices/val-dev/readings?sensor=Temp', undefined, 'querystring.sensor'],
    ['GET', '/api/devices/val-dev/readings?sensor=temperature&from=yesterday', undefined, 'querystring.from'],
    [
      'GET',
      '/api/devices/val-dev/readings?sensor=temperature&from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z',
      undefined,
      'querystring.from',
    ],
    ['GET', '/api/devices?limit=0', undefined, 'querystring.limit'],
    ['GET', '/api/devices?bogus=1', undefined, 'querystring.bogus'],
    ['GET', '/api/devices/bad%20id', undefined, 'params.id'],
    ['POST', '/api/devices/val-dev/commands', { command: 'explode' }, 'body.command'],
    ['POST', '/api/devices/val-dev/commands', { command: 'set_interval' }, 'body.intervalMs'],
    ['POST', '/api/devices/val-dev/commands', { command: 'set_interval', intervalMs: 5 }, 'body.intervalMs'],
    ['POST', '/api/devices/val-dev/commands', { command: 'stop', intervalMs: 1000 }, 'body.intervalMs'],
    ['POST', '/api/devices/val-dev/commands', { command: 'stop', interval: 1000 }, 'body.interval'],
    [
      'POST',
      '/api/devices/val-dev/commands',
      { command: 'stop', expiresAt: '2020-01-01T00:00:00Z' },
      'body.expiresAt',
    ],
    [
      'POST',
      '/api/devices/val-dev/commands',
      { command: 'stop', expiresAt: '2999-01-01T00:00:00Z' },
      'body.expiresAt',
    ],
    ['PATCH', '/api/devices/val-dev', { name: '' }, 'body.name'],
    ['GET', '/api/message-log?cursor=abc', undefined, 'querystring.cursor'],
  ] as const)('%s %s', async (method, url, payload, field) => {
    const r = await call(method, url, payload);
    expect(r.status).toBe(400);
    expect(r.body.error).toBe('bad_request');
    expect(r.body.field).toBe(field);
    expect(r.body.message).toContain(field);
  });

  it('answers 404 for an unknown device', async () => {
    for (const url of [
      '/api/devices/nobody',
      '/api/devices/nobody/readings?sensor=temperature',
      '/api/devices/nobody/readings.csv',
      '/api/devices/nobody/commands',
      '/api/devices/nobody/completeness',
    ]) {
      const r = await call('GET', url);
      expect(r.status, url).toBe(404);
      expect(r.body.error).toBe('not_found');
    }
    expect((await call('POST', '/api/devices/nobody/commands', { command: 'ping' })).status).toBe(404);
    expect((await call('PATCH', '/api/devices/nobody', { name: 'x' })).status).toBe(404);
    expect((await call('GET', '/api/commands/no-such-command')).status).toBe(404);
  });
});

describe('the message log and statistics', () => {
  it('returns a device payload as JSON text, never as markup', async () => {
    const payload = '{"v":1,"readings":[{"seq":1,"ts":"<img src=x onerror=alert(1)>","values":{}}]}';
    await rig.query(
      'INSERT INTO message_log (received_at, device_id, topic_kind, bytes, payload, outcome, reason, readings, rejected)' +
        " VALUES (NOW(3), 'val-dev', 'telemetry', ?, ?, 'rejected', 'bad_timestamp', 1, 1)",
      [payload.length, Buffer.from(payload)],
    );
    const res = await rig.app.inject({
      url: '/api/message-log?device=val-dev',
      headers: { cookie: op.cookie },
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const body = res.json() as { messages: { topic: string; payload: string; reason: string }[]; next: null };
    expect(body.messages[0]).toMatchObject({
      topic: 'devices/val-dev/telemetry',
      payload,
      reason: 'bad_timestamp',
    });
    expect(body.next).toBeNull();
  });

  it('serves ingest statistics', async () => {
    const res = await rig.app.inject({ url: '/api/stats?windowMinutes=5', headers: { cookie: op.cookie } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ windowMinutes: 5, totals: { messages: 0 } });
  });
});
