import {
  AlertIdParams,
  AlertListQuery,
  AlertRuleBody,
  AlertRuleIdParams,
  AlertRulePatch,
  AlertRulePreviewQuery,
  type AlertRulePreview,
  type AlertRuleView,
  type AlertView,
} from '@sensorfleet/shared/schemas/alerts';
import type { FastifyInstance } from 'fastify';
import type { PageUser } from '@sensorfleet/webadmin/pages/index';
import { ApiFailure, badRequest, notFound } from '@sensorfleet/webadmin/errors';

/*
 * The alerts API of the stand-in: rules and alerts in memory, validated with the contract's schemas and
 * answering bad input as the service does (400 with `field`). Its data holds what a fresh stack does not:
 * firing critical and warning alerts, a pending one, an acknowledged one, history with one resolved while
 * offline, and a rule whose name is markup (it must show as text).
 */
export const XSS_RULE_NAME = 'Cold room <img src=x onerror="window.__xss=1;alert(1)"> too warm';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

export interface AlertFixture {
  /** Stores the alert (new or changed) and sends its /ws frame, as the engine would. */
  push(alert: AlertView): void;
  alerts: Map<number, AlertView>;
}

interface Deps {
  now: number;
  devices: { id: string; seed: number; online: boolean }[];
  user: PageUser;
  value(sensor: string, seed: number, t: number): number;
  broadcast(deviceId: string, msg: unknown): void;
}

type StoredRule = Omit<AlertRuleView, 'openAlerts' | 'targets'> & {
  targets: ({ type: 'email'; to: string } | { type: 'webhook'; url: string; secret: string })[];
};

const iso = (t: number) => new Date(t).toISOString();

function seedRules(now: number, device0: string): StoredRule[] {
  const base = { createdBy: 'admin', createdAt: iso(now - 30 * DAY), updatedAt: iso(now - 2 * DAY) };
  const hook = {
    type: 'webhook' as const,
    url: 'https://hooks.example.net/sensorfleet',
    secret: 'x'.repeat(32),
  };
  return [
    {
      ...base,
      id: 1,
      name: 'Greenhouse too hot',
      deviceId: device0,
      kind: 'above',
      sensor: 'temperature',
      threshold: 28,
      clear: 27,
      forS: 300,
      severity: 'critical',
      targets: [{ type: 'email', to: 'ops@example.com' }, hook],
      repeatS: 3600,
      enabled: true,
    },
    {
      ...base,
      id: 2,
      name: 'Air too dry',
      deviceId: null,
      kind: 'below',
      sensor: 'humidity',
      threshold: 35,
      clear: 38,
      forS: 600,
      severity: 'warning',
      targets: [{ type: 'email', to: 'greenhouse-team@example.com' }],
      repeatS: null,
      enabled: true,
    },
    {
      ...base,
      id: 3,
      name: 'Device offline',
      deviceId: null,
      kind: 'offline',
      sensor: null,
      threshold: null,
      clear: null,
      forS: 300,
      severity: 'warning',
      targets: [hook],
      repeatS: null,
      enabled: true,
    },
    {
      ...base,
      id: 4,
      name: 'Sensor silent',
      deviceId: null,
      kind: 'no_data',
      sensor: null,
      threshold: null,
      clear: null,
      forS: 900,
      severity: 'info',
      targets: [],
      repeatS: null,
      enabled: false,
    },
    {
      ...base,
      id: 5,
      name: 'Backlog building up',
      deviceId: null,
      kind: 'backlog',
      sensor: null,
      threshold: 1000,
      clear: null,
      forS: 600,
      severity: 'warning',
      targets: [{ type: 'email', to: 'ops@example.com' }],
      repeatS: 21_600,
      enabled: true,
    },
    {
      ...base,
      id: 6,
      name: XSS_RULE_NAME,
      deviceId: 'cold-room-07',
      kind: 'above',
      sensor: 'temperature',
      threshold: -15,
      clear: -16,
      forS: 120,
      severity: 'warning',
      targets: [{ type: 'email', to: 'facilities@example.com' }],
      repeatS: null,
      enabled: true,
    },
  ];
}

function seedAlerts(now: number, rules: StoredRule[], deviceIds: string[]): AlertView[] {
  const rule = (id: number) => rules.find((r) => r.id === id)!;
  const alert = (id: number, ruleId: number, deviceId: string, a: Partial<AlertView>): AlertView => ({
    id,
    ruleId,
    ruleName: rule(ruleId).name,
    kind: rule(ruleId).kind,
    deviceId,
    severity: rule(ruleId).severity,
    state: 'resolved',
    value: null,
    startedAt: iso(now - HOUR),
    firedAt: null,
    resolvedAt: null,
    ackedBy: null,
    ackedAt: null,
    resolvedWhileOffline: false,
    ...a,
  });
  const list: AlertView[] = [
    alert(60, 1, deviceIds[0]!, {
      state: 'firing',
      value: 29.4,
      startedAt: iso(now - 17 * MIN),
      firedAt: iso(now - 12 * MIN),
    }),
    alert(59, 3, 'lab-04', {
      state: 'firing',
      value: 7260,
      startedAt: iso(now - 2 * HOUR - 60_000),
      firedAt: iso(now - 2 * HOUR + 4 * MIN),
      ackedBy: 'ops-anna',
      ackedAt: iso(now - 90 * MIN),
    }),
    alert(58, 6, 'cold-room-07', {
      state: 'firing',
      value: -12.3,
      startedAt: iso(now - 41 * MIN),
      firedAt: iso(now - 39 * MIN),
    }),
    alert(57, 2, 'office-06', { state: 'pending', value: 33.1, startedAt: iso(now - 4 * MIN) }),
    alert(56, 1, deviceIds[0]!, {
      value: 26.8,
      startedAt: iso(now - 26 * HOUR),
      firedAt: iso(now - 25.9 * HOUR),
      resolvedAt: iso(now - 24.5 * HOUR),
      ackedBy: 'admin',
      ackedAt: iso(now - 25.5 * HOUR),
    }),
    alert(55, 3, 'cellar-10', {
      value: 0,
      startedAt: iso(now - 30 * HOUR),
      firedAt: null,
      resolvedAt: iso(now - 29 * HOUR),
      resolvedWhileOffline: true,
    }),
    alert(54, 5, 'attic-03', {
      value: 412,
      startedAt: iso(now - 34 * HOUR),
      firedAt: iso(now - 33.8 * HOUR),
      resolvedAt: iso(now - 33 * HOUR),
    }),
    alert(53, 2, 'barn-05', {
      value: 36.2,
      startedAt: iso(now - 40 * HOUR),
      resolvedAt: iso(now - 39.9 * HOUR),
    }),
    alert(52, 6, 'cold-room-07', {
      value: -16.4,
      startedAt: iso(now - 3 * DAY),
      firedAt: iso(now - 3 * DAY + 2 * MIN),
      resolvedAt: iso(now - 3 * DAY + 50 * MIN),
    }),
  ];
  // Older history, enough for a second page.
  for (let i = 0; i < 30; i++) {
    const start = now - 3.2 * DAY - i * 5 * HOUR;
    list.push(
      alert(51 - i, i % 2 ? 2 : 1, i % 2 ? deviceIds[(i % 5) + 1]! : deviceIds[0]!, {
        value: i % 2 ? 36 + (i % 3) : 26.5 - (i % 3) / 2,
        startedAt: iso(start),
        firedAt: iso(start + 6 * MIN),
        resolvedAt: iso(start + (20 + i) * MIN),
      }),
    );
  }
  return list;
}

const SEVERITY_RANK = { critical: 0, warning: 1, info: 2 } as const;
function apiOrder(a: AlertView, b: AlertView): number {
  const rank = (x: AlertView) => (x.state === 'firing' ? 0 : x.state === 'pending' ? 1 : 2);
  const open = rank(a) - rank(b);
  if (open) return open;
  if (a.state !== 'resolved')
    return SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] || b.startedAt.localeCompare(a.startedAt);
  return (b.resolvedAt ?? '').localeCompare(a.resolvedAt ?? '') || b.id - a.id;
}

/** The service's cross-field rules: the schema alone cannot say "above needs a sensor". */
function checkRule(r: Pick<StoredRule, 'kind' | 'sensor' | 'threshold' | 'clear' | 'targets'>): void {
  if (r.kind === 'above' || r.kind === 'below') {
    if (!r.sensor) throw badRequest('body.sensor', `is required for ${r.kind}`);
    if (r.threshold === null) throw badRequest('body.threshold', `is required for ${r.kind}`);
    if (r.clear !== null && (r.kind === 'above' ? r.clear > r.threshold : r.clear < r.threshold))
      throw badRequest('body.clear', `must be ${r.kind === 'above' ? '≤' : '≥'} threshold for ${r.kind}`);
  }
  if (r.kind === 'backlog' && r.threshold === null)
    throw badRequest('body.threshold', 'is required for backlog');
  r.targets.forEach((t, i) => {
    if (t.type !== 'webhook') return;
    const url = new URL(t.url);
    if (url.protocol !== 'https:' && url.hostname !== '127.0.0.1')
      throw badRequest(
        `body.targets.${i}.url`,
        `http is allowed only for ALERT_WEBHOOK_ALLOW hosts, not ${url.hostname}`,
      );
  });
}

export function registerAlertRoutes(app: FastifyInstance, deps: Deps): AlertFixture {
  const rules = seedRules(deps.now, deps.devices[0]!.id);
  const alerts = new Map(
    seedAlerts(
      deps.now,
      rules,
      deps.devices.map((d) => d.id),
    ).map((a) => [a.id, a]),
  );
  let nextRuleId = 100;

  const view = (r: StoredRule): AlertRuleView => ({
    ...r,
    targets: r.targets.map((t) =>
      t.type === 'email' ? t : { type: 'webhook', url: t.url, secretSet: true },
    ),
    openAlerts: [...alerts.values()].filter((a) => a.ruleId === r.id && a.state !== 'resolved').length,
  });
  const ruleOf = (id: number) => {
    const r = rules.find((x) => x.id === id);
    if (!r) throw notFound('alert rule');
    return r;
  };
  const requireRole = (role: 'operator' | 'admin', what: string) => {
    const ok = role === 'admin' ? deps.user.role === 'admin' : deps.user.role !== 'viewer';
    if (!ok) throw new ApiFailure(403, 'forbidden', `${what} needs the ${role} role`);
  };
  const push = (a: AlertView) => {
    alerts.set(a.id, a);
    deps.broadcast(a.deviceId, { type: 'alert', alert: a });
  };

  app.get('/api/alert-rules', async () => ({ rules: rules.map(view) }));
  app.post('/api/alert-rules', { schema: { body: AlertRuleBody } }, async (req, reply) => {
    requireRole('admin', 'changing alert rules');
    const b = req.body as AlertRuleBody;
    const now = new Date().toISOString();
    const rule: StoredRule = {
      id: nextRuleId++,
      name: b.name,
      deviceId: b.deviceId ?? null,
      kind: b.kind,
      sensor: b.sensor ?? null,
      threshold: b.threshold ?? null,
      clear: b.clear ?? null,
      forS: b.forS,
      severity: b.severity,
      targets: b.targets,
      repeatS: b.repeatS ?? null,
      enabled: b.enabled ?? true,
      createdBy: deps.user.username,
      createdAt: now,
      updatedAt: now,
    };
    checkRule(rule);
    rules.push(rule);
    return reply.code(201).send(view(rule));
  });
  app.patch(
    '/api/alert-rules/:id',
    { schema: { params: AlertRuleIdParams, body: AlertRulePatch } },
    async (req) => {
      requireRole('admin', 'changing alert rules');
      const rule = ruleOf((req.params as { id: number }).id);
      const next = { ...rule, ...(req.body as Partial<StoredRule>), updatedAt: new Date().toISOString() };
      checkRule(next);
      Object.assign(rule, next);
      return view(rule);
    },
  );
  app.delete('/api/alert-rules/:id', { schema: { params: AlertRuleIdParams } }, async (req, reply) => {
    requireRole('admin', 'changing alert rules');
    const rule = ruleOf((req.params as { id: number }).id);
    rules.splice(rules.indexOf(rule), 1);
    return reply.code(204).send();
  });

  // Replays the stand-in's own value curves minute by minute, with the rule's hysteresis and `for`.
  app.post(
    '/api/alert-rules/preview',
    { schema: { querystring: AlertRulePreviewQuery, body: AlertRuleBody } },
    async (req): Promise<AlertRulePreview> => {
      requireRole('admin', 'previewing alert rules');
      const b = req.body as AlertRuleBody;
      const hours = (req.query as { hours?: number }).hours ?? 24;
      const rule = { ...b, sensor: b.sensor ?? null, threshold: b.threshold ?? null, clear: b.clear ?? null };
      checkRule(rule);
      if (b.kind !== 'above' && b.kind !== 'below')
        return { hours, fired: 0, devices: [], resolution: '1m', supported: false };
      const threshold = rule.threshold!;
      const clear = rule.clear ?? threshold;
      const end = Date.now();
      const devices = deps.devices
        .filter((d) => !b.deviceId || d.id === b.deviceId)
        .map((d) => {
          let fired = 0;
          let since: number | undefined;
          let firing = false;
          for (let t = end - hours * HOUR; t < end; t += MIN) {
            const v = deps.value(b.sensor!, d.seed, t);
            const breach = b.kind === 'above' ? v > threshold : v < threshold;
            const cleared = b.kind === 'above' ? v <= clear : v >= clear;
            if (!firing) {
              since = breach ? (since ?? t) : undefined;
              if (since !== undefined && t - since >= b.forS * 1000) {
                firing = true;
                fired++;
              }
            } else if (cleared) {
              firing = false;
              since = undefined;
            }
          }
          return { deviceId: d.id, fired };
        })
        .filter((d) => d.fired > 0);
      return {
        hours,
        fired: devices.reduce((n, d) => n + d.fired, 0),
        devices,
        resolution: '1m',
        supported: true,
      };
    },
  );

  app.get('/api/alerts', { schema: { querystring: AlertListQuery } }, async (req) => {
    const q = req.query as {
      state?: string;
      deviceId?: string;
      ruleId?: number;
      limit?: number;
      cursor?: string;
    };
    const list = [...alerts.values()]
      .filter((a) => (q.state === 'open' ? a.state !== 'resolved' : !q.state || a.state === q.state))
      .filter((a) => !q.deviceId || a.deviceId === q.deviceId)
      .filter((a) => !q.ruleId || a.ruleId === q.ruleId)
      .sort(apiOrder);
    const limit = q.limit ?? 100;
    const offset = Number(q.cursor ?? 0);
    return {
      alerts: list.slice(offset, offset + limit),
      next: offset + limit < list.length ? String(offset + limit) : null,
    };
  });
  app.post('/api/alerts/:id/ack', { schema: { params: AlertIdParams } }, async (req) => {
    requireRole('operator', 'acknowledging alerts');
    const a = alerts.get((req.params as { id: number }).id);
    if (!a) throw notFound('alert');
    if (a.ackedAt) return a;
    const acked = { ...a, ackedBy: deps.user.username, ackedAt: new Date().toISOString() };
    push(acked);
    return acked;
  });

  return { push, alerts };
}
