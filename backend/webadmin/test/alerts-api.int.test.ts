import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebadminRig, type Login } from './support/webadmin-rig.js';

/** The rule and alert API: validation naming fields, refused targets, secrets, acks, order, audit. */
let rig: WebadminRig;
let admin: Login;
let operator: Login;
let viewer: Login;
const secret = 's'.repeat(24);

const post = (login: Login, url: string, payload: unknown) =>
  rig.app.inject({ method: 'POST', url, headers: WebadminRig.browser(login), payload: payload as object });

const hot = (over: Record<string, unknown> = {}) => ({
  name: 'hot room',
  kind: 'above',
  sensor: 'temperature',
  threshold: 30,
  clear: 28,
  forS: 60,
  severity: 'critical',
  targets: [{ type: 'webhook', url: 'http://127.0.0.1:9/hook', secret }],
  ...over,
});

beforeAll(async () => {
  // No SMTP_URL: e-mail targets are refused at save.
  rig = await WebadminRig.start({ env: { ALERT_WEBHOOK_ALLOW: '127.0.0.1' } });
  // The API alone: alerts are inserted by hand below, and no evaluator may judge them.
  for (const r of rig.replicas) await r.evaluator.stop();
  for (const role of ['admin', 'operator', 'viewer'] as const) await rig.addUser(role, role);
  [admin, operator, viewer] = await Promise.all([
    rig.login('admin'),
    rig.login('operator'),
    rig.login('viewer'),
  ]);
});
afterAll(async () => {
  await rig?.close();
});

describe('alert rules API', () => {
  it('answers 400 naming the field for cross-field problems and refused targets', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [hot({ sensor: undefined }), 'body.sensor'],
      [hot({ threshold: undefined }), 'body.threshold'],
      [hot({ clear: 31 }), 'body.clear'],
      [hot({ kind: 'below', clear: 29 }), 'body.clear'],
      [
        hot({ kind: 'offline', sensor: undefined, threshold: undefined, clear: undefined, forS: 0 }),
        'body.forS',
      ],
      [hot({ kind: 'backlog', sensor: undefined, clear: undefined, threshold: undefined }), 'body.threshold'],
      [hot({ severity: 'loud' }), 'body.severity'],
      [hot({ targets: [{ type: 'email', to: 'ops@example.org' }] }), 'body.targets.0.to'],
      [hot({ targets: [{ type: 'email', to: 'a@b\r\nBcc: c@d' }] }), 'body.targets.0.to'],
      [
        hot({
          targets: [
            { type: 'webhook', url: 'http://127.0.0.1:9/ok', secret },
            { type: 'webhook', url: 'https://127.0.0.3/hook', secret },
          ],
        }),
        'body.targets.1.url',
      ],
      [hot({ targets: [{ type: 'webhook', url: 'https://[::1]/hook', secret }] }), 'body.targets.0.url'],
      [hot({ targets: [{ type: 'webhook', url: 'http://127.0.0.3/hook', secret }] }), 'body.targets.0.url'],
      // The schema's union reports its first branch: the target is named, not its `secret`.
      [
        hot({ targets: [{ type: 'webhook', url: 'http://127.0.0.1:9/hook', secret: 'short' }] }),
        'body.targets.0.to',
      ],
    ];
    for (const [body, field] of cases) {
      const r = await post(admin, '/api/alert-rules', body);
      expect(r.statusCode, `${field}: ${r.body}`).toBe(400);
      expect(r.json()).toMatchObject({ error: 'bad_request', field });
    }
  });

  it('creates, shows without secrets, edits, previews and deletes a rule, audited', async () => {
    const created = await post(admin, '/api/alert-rules', hot());
    expect(created.statusCode, created.body).toBe(201);
    const rule = created.json() as { id: number; targets: unknown[] };
    expect(rule).toMatchObject({ name: 'hot room', deviceId: null, clear: 28, enabled: true, openAlerts: 0 });
    expect(rule.targets).toEqual([{ type: 'webhook', url: 'http://127.0.0.1:9/hook', secretSet: true }]);
    expect(created.body).not.toContain(secret);

    const list = await rig.app.inject({ url: '/api/alert-rules', headers: WebadminRig.browser(viewer) });
    expect(list.statusCode).toBe(200);
    expect(list.body).not.toContain(secret);

    const patch = await rig.app.inject({
      method: 'PATCH',
      url: `/api/alert-rules/${rule.id}`,
      headers: WebadminRig.browser(admin),
      payload: { threshold: 35, clear: null, repeatS: 600 },
    });
    expect(patch.statusCode, patch.body).toBe(200);
    expect(patch.json()).toMatchObject({ threshold: 35, clear: null, repeatS: 600 });
    const bad = await rig.app.inject({
      method: 'PATCH',
      url: `/api/alert-rules/${rule.id}`,
      headers: WebadminRig.browser(admin),
      payload: { clear: 40 },
    });
    expect(bad.json()).toMatchObject({ field: 'body.clear' });
    const toOffline = await rig.app.inject({
      method: 'PATCH',
      url: `/api/alert-rules/${rule.id}`,
      headers: WebadminRig.browser(admin),
      payload: { kind: 'offline', forS: 300 },
    });
    expect(toOffline.statusCode, toOffline.body).toBe(200);
    expect(toOffline.json()).toMatchObject({ kind: 'offline', sensor: null, threshold: null });

    await rig.addDevice('api-dev');
    const bucket = new Date(Math.floor(Date.now() / 60_000) * 60_000 - 30 * 60_000);
    for (let i = 0; i < 10; i++) {
      const v = i >= 3 && i < 6 ? 33 : 25;
      await rig.query(
        'INSERT INTO readings_1m (device_id, sensor, bucket, n, sum_value, min_value, max_value) VALUES (?,?,?,?,?,?,?)',
        ['api-dev', 'temperature', new Date(bucket.getTime() + i * 60_000), 1, v, v, v],
      );
    }
    const preview = await post(admin, '/api/alert-rules/preview?hours=2', hot({ forS: 120 }));
    expect(preview.statusCode, preview.body).toBe(200);
    expect(preview.json()).toEqual({
      hours: 2,
      fired: 1,
      devices: [{ deviceId: 'api-dev', fired: 1 }],
      resolution: '1m',
      supported: true,
    });
    const offlinePreview = await post(admin, '/api/alert-rules/preview', {
      ...hot({ kind: 'offline', forS: 60 }),
      sensor: undefined,
      threshold: undefined,
      clear: undefined,
    });
    expect(offlinePreview.json()).toMatchObject({ supported: false, hours: 24 });

    const del = await rig.app.inject({
      method: 'DELETE',
      url: `/api/alert-rules/${rule.id}`,
      headers: WebadminRig.browser(admin),
    });
    expect(del.statusCode).toBe(204);
    expect(
      (await rig.app.inject({ url: `/api/alert-rules/${rule.id}`, headers: WebadminRig.browser(viewer) }))
        .statusCode,
    ).toBe(404);

    const audit = await rig.query<{ action: string; target: string }>(
      "SELECT action, target FROM audit_log WHERE action LIKE 'alert_rule_%' ORDER BY id",
    );
    expect(audit.map((a) => a.action)).toEqual([
      'alert_rule_add',
      'alert_rule_change',
      'alert_rule_change',
      'alert_rule_remove',
    ]);
  });
});

describe('alerts API', () => {
  it('lists firing by severity first, then pending, then history; pages with a cursor; acks', async () => {
    const insert = (state: string, severity: string, device: string) =>
      rig.query(
        'INSERT INTO alerts (rule_id, rule_name, kind, device_id, state, severity, value, started_at, fired_at, resolved_at)' +
          ' VALUES (?,?,?,?,?,?,?,?,?,?)',
        [
          100,
          'r',
          'above',
          device,
          state,
          severity,
          31,
          new Date(),
          state === 'pending' ? null : new Date(),
          state === 'resolved' ? new Date() : null,
        ],
      );
    await insert('resolved', 'critical', 'd1');
    await insert('firing', 'info', 'd2');
    await insert('pending', 'critical', 'd3');
    await insert('firing', 'critical', 'd4');
    await insert('resolved', 'info', 'd5');
    await insert('firing', 'warning', 'd6');
    const page1 = await rig.app.inject({ url: '/api/alerts?limit=3', headers: WebadminRig.browser(viewer) });
    expect(page1.statusCode, page1.body).toBe(200);
    const p1 = page1.json() as { alerts: { deviceId: string; id: number }[]; next: string };
    expect(p1.alerts.map((a) => a.deviceId)).toEqual(['d4', 'd6', 'd2']);
    const p2 = (
      await rig.app.inject({
        url: `/api/alerts?limit=3&cursor=${p1.next}`,
        headers: WebadminRig.browser(viewer),
      })
    ).json() as { alerts: { deviceId: string }[]; next: string | null };
    expect(p2.alerts.map((a) => a.deviceId)).toEqual(['d3', 'd5', 'd1']);
    expect(p2.next).toBeNull();
    const open = (
      await rig.app.inject({
        url: '/api/alerts?state=open&deviceId=d3',
        headers: WebadminRig.browser(viewer),
      })
    ).json() as { alerts: unknown[] };
    expect(open.alerts).toHaveLength(1);
    expect(
      (await rig.app.inject({ url: '/api/alerts?state=nope', headers: WebadminRig.browser(viewer) })).json(),
    ).toMatchObject({ field: 'querystring.state' });

    const id = p1.alerts[0]!.id;
    // Found by the HTTP fuzzer: `1e309` coerces to Infinity, which passed an integer check without a maximum.
    for (const bad of ['1e309', '9007199254740993', '0', '1.5']) {
      const r = await post(operator, `/api/alerts/${bad}/ack`, {});
      expect(r.statusCode, `${bad}: ${r.body}`).toBe(400);
      expect(r.json()).toMatchObject({ field: 'params.id' });
    }
    expect(
      (
        await rig.app.inject({ url: '/api/alerts?ruleId=1e309', headers: WebadminRig.browser(viewer) })
      ).json(),
    ).toMatchObject({ field: 'querystring.ruleId' });
    expect((await post(viewer, `/api/alerts/${id}/ack`, {})).statusCode).toBe(403);
    const ack = await post(operator, `/api/alerts/${id}/ack`, {});
    expect(ack.statusCode, ack.body).toBe(200);
    expect(ack.json()).toMatchObject({ id, ackedBy: 'operator', state: 'firing' });
    const again = await post(admin, `/api/alerts/${id}/ack`, {});
    expect(again.json()).toMatchObject({ ackedBy: 'operator' });
    expect((await post(operator, '/api/alerts/999999/ack', {})).statusCode).toBe(404);
    expect(await rig.query('SELECT id FROM alert_notifications')).toHaveLength(0);
    const audit = await rig.query("SELECT actor FROM audit_log WHERE action = 'alert_ack'");
    expect(audit).toHaveLength(2);
  });
});
