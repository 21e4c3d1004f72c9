import {
  AlertIdParams,
  AlertList,
  AlertListQuery,
  AlertRuleBody,
  AlertRuleIdParams,
  AlertRuleList,
  AlertRulePatch,
  AlertRulePreview,
  AlertRulePreviewQuery,
  AlertRuleView,
  AlertView,
} from '@sensorfleet/shared/schemas/alerts';
import { ApiError } from '@sensorfleet/shared/schemas/webadmin-api';
import type { Static } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { Pool } from 'mariadb';
import { AlertRuleStore, ruleView, type StoredRule } from '../alerts/alert-rule-store.js';
import { alertView, AlertStore } from '../alerts/alert-store.js';
import { previewRule } from '../alerts/rule-preview.js';
import {
  checkRuleTargets,
  definitionOfBody,
  ruleProblem,
  type RuleDefinition,
} from '../alerts/rule-validation.js';
import type { Resolver, WebhookAllowList } from '../alerts/webhook-address-policy.js';
import type { AuditLog } from '../audit-log.js';
import { notFound } from '../errors.js';

const errors = { 400: ApiError, 401: ApiError, 403: ApiError, 404: ApiError };
const admin = { auth: 'admin' as const };

export interface AlertRouteOptions {
  pool: Pool;
  audit: AuditLog;
  mailConfigured: boolean;
  webhookAllow: WebhookAllowList;
  resolve?: Resolver;
}

/** A PATCH applied to a stored rule; fields the new kind does not use are dropped unless the patch sets them. */
function patched(r: StoredRule, p: AlertRulePatch): RuleDefinition {
  const pick = <K extends keyof AlertRulePatch>(k: K, current: RuleDefinition[K & keyof RuleDefinition]) =>
    (p[k] === undefined ? current : p[k]) as RuleDefinition[K & keyof RuleDefinition];
  const d: RuleDefinition = {
    name: pick('name', r.name),
    deviceId: pick('deviceId', r.deviceId),
    kind: pick('kind', r.kind),
    sensor: pick('sensor', r.sensor),
    threshold: pick('threshold', r.threshold),
    clear: pick('clear', r.clear),
    forS: pick('forS', r.forS),
    severity: pick('severity', r.severity),
    targets: pick('targets', r.targets),
    repeatS: pick('repeatS', r.repeatS),
    enabled: pick('enabled', r.enabled),
  };
  if (p.kind !== undefined && p.kind !== r.kind) {
    const sensorKind = d.kind === 'above' || d.kind === 'below';
    if (!sensorKind && p.sensor === undefined) d.sensor = null;
    if (!sensorKind && p.clear === undefined) d.clear = null;
    if ((d.kind === 'offline' || d.kind === 'no_data') && p.threshold === undefined) d.threshold = null;
  }
  return d;
}

/**
 * Alert rules (admin manages, everyone reads; webhook secrets never leave the server) and alerts (everyone
 * reads, operators acknowledge). Rule changes and acknowledgements are audited. The evaluator picks up a
 * change at its next round (ALERT_EVAL_INTERVAL_MS).
 */
export const alertRoutes: FastifyPluginAsync<AlertRouteOptions> = async (app, opts) => {
  const rules = new AlertRuleStore(opts.pool);
  const alerts = new AlertStore(opts.pool);
  const validate = async (d: RuleDefinition) => {
    const problem =
      ruleProblem(d, { mailConfigured: opts.mailConfigured }) ??
      (await checkRuleTargets(d.targets, opts.webhookAllow, opts.resolve));
    if (problem) throw problem;
  };
  const view = async (id: number) => {
    const r = await rules.get(id);
    if (!r) throw notFound(`alert rule ${id}`);
    return ruleView(r, (await rules.openCounts([id])).get(id) ?? 0);
  };

  app.get(
    '/api/alert-rules',
    {
      schema: {
        tags: ['alerts'],
        summary: 'alert rules (webhook secrets are never returned: `secretSet`)',
        response: { 200: AlertRuleList, ...errors },
      },
    },
    async () => {
      const list = await rules.list();
      const open = await rules.openCounts();
      return { rules: list.map((r) => ruleView(r, open.get(r.id) ?? 0)) };
    },
  );

  app.post<{ Body: AlertRuleBody }>(
    '/api/alert-rules',
    {
      config: admin,
      schema: {
        tags: ['alerts'],
        summary: 'add an alert rule (admin); 400 names the field of a cross-field problem or refused target',
        body: AlertRuleBody,
        response: { 201: AlertRuleView, ...errors },
      },
    },
    async (request, reply) => {
      const d = definitionOfBody(request.body);
      await validate(d);
      const id = await rules.create(d, request.user!.username);
      await opts.audit.record({
        actor: request.user!.username,
        action: 'alert_rule_add',
        target: String(id),
        ip: request.ip,
        detail: { name: d.name, kind: d.kind, deviceId: d.deviceId },
      });
      return reply.code(201).send(await view(id));
    },
  );

  app.post<{ Body: AlertRuleBody; Querystring: Static<typeof AlertRulePreviewQuery> }>(
    '/api/alert-rules/preview',
    {
      config: admin,
      schema: {
        tags: ['alerts'],
        summary:
          'how often a rule body would have fired in the last `hours`, per device, from the 1-minute rollup (admin)',
        body: AlertRuleBody,
        querystring: AlertRulePreviewQuery,
        response: { 200: AlertRulePreview, ...errors },
      },
    },
    async (request) => {
      const d = definitionOfBody(request.body);
      // Targets are not needed to preview: only the condition is judged.
      const problem = ruleProblem({ ...d, targets: [] }, { mailConfigured: true });
      if (problem) throw problem;
      return previewRule(opts.pool, d, request.query.hours ?? 24);
    },
  );

  app.get<{ Params: AlertRuleIdParams }>(
    '/api/alert-rules/:id',
    {
      schema: {
        tags: ['alerts'],
        summary: 'one alert rule',
        params: AlertRuleIdParams,
        response: { 200: AlertRuleView, ...errors },
      },
    },
    async (request) => view(request.params.id),
  );

  app.patch<{ Params: AlertRuleIdParams; Body: AlertRulePatch }>(
    '/api/alert-rules/:id',
    {
      config: admin,
      schema: {
        tags: ['alerts'],
        summary:
          'change an alert rule (admin; `null` removes an optional field; `targets` replaces all, with secrets). ' +
          'Open alerts are judged again under the new rule and resolve if it no longer holds',
        params: AlertRuleIdParams,
        body: AlertRulePatch,
        response: { 200: AlertRuleView, ...errors },
      },
    },
    async (request) => {
      const { id } = request.params;
      const current = await rules.get(id);
      if (!current) throw notFound(`alert rule ${id}`);
      const d = patched(current, request.body);
      await validate(d);
      if (!(await rules.update(id, d))) throw notFound(`alert rule ${id}`);
      await opts.audit.record({
        actor: request.user!.username,
        action: 'alert_rule_change',
        target: String(id),
        ip: request.ip,
        detail: { fields: Object.keys(request.body) },
      });
      return view(id);
    },
  );

  app.delete<{ Params: AlertRuleIdParams }>(
    '/api/alert-rules/:id',
    {
      config: admin,
      schema: {
        tags: ['alerts'],
        summary: 'remove an alert rule (admin): its open alerts resolve (notified as usual); history stays',
        params: AlertRuleIdParams,
        response: { 204: { type: 'null' }, ...errors },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      if (!(await rules.remove(id))) throw notFound(`alert rule ${id}`);
      await opts.audit.record({
        actor: request.user!.username,
        action: 'alert_rule_remove',
        target: String(id),
        ip: request.ip,
      });
      return reply.code(204).send();
    },
  );

  app.get<{ Querystring: AlertListQuery }>(
    '/api/alerts',
    {
      schema: {
        tags: ['alerts'],
        summary: 'alerts: firing first (critical, warning, info), then pending, then history newest first',
        querystring: AlertListQuery,
        response: { 200: AlertList, ...errors },
      },
    },
    async (request) => alerts.list(request.query),
  );

  app.get<{ Params: Static<typeof AlertIdParams> }>(
    '/api/alerts/:id',
    {
      schema: {
        tags: ['alerts'],
        summary: 'one alert',
        params: AlertIdParams,
        response: { 200: AlertView, ...errors },
      },
    },
    async (request) => {
      const row = await alerts.get(request.params.id);
      if (!row) throw notFound(`alert ${request.params.id}`);
      return alertView(row);
    },
  );

  app.post<{ Params: Static<typeof AlertIdParams> }>(
    '/api/alerts/:id/ack',
    {
      config: { auth: 'operator' },
      schema: {
        tags: ['alerts'],
        summary:
          'acknowledge an alert (operator): records who and when, notifies nobody; the first one stays',
        params: AlertIdParams,
        response: { 200: AlertView, ...errors },
      },
    },
    async (request) => {
      const { id } = request.params;
      const row = await alerts.acknowledge(id, request.user!.username, new Date());
      if (!row) throw notFound(`alert ${id}`);
      await opts.audit.record({
        actor: request.user!.username,
        action: 'alert_ack',
        target: String(id),
        ip: request.ip,
        detail: { ruleId: row.rule_id, deviceId: row.device_id },
      });
      return alertView(row);
    },
  );
};
