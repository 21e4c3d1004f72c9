import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { DEVICE_ID_PATTERN } from '../topics.js';
import { SENSOR_NAME_PATTERN } from './reading.js';

/*
 * Alert rules, alerts and their notifications (docs/design.md#alerts): one source for the web admin's route
 * validators, the TypeScript types, the OpenAPI document and the webhook body that receivers of our
 * webhooks verify. Times are ISO-8601 UTC strings.
 */

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

export const ALERT_KINDS = ['above', 'below', 'offline', 'no_data', 'backlog'] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];
/** Kinds judged on a sensor's values; they need `sensor` and `threshold`. */
export const SENSOR_ALERT_KINDS: readonly AlertKind[] = ['above', 'below'];

export const ALERT_SEVERITIES = ['info', 'warning', 'critical'] as const;
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];

export const ALERT_STATES = ['pending', 'firing', 'resolved'] as const;
export type AlertState = (typeof ALERT_STATES)[number];

/** A rule may hold at most this many targets; a message at most one mail/webhook per target. */
export const MAX_ALERT_TARGETS = 10;

export const EmailTarget = Type.Object(
  {
    type: Type.Literal('email'),
    // A single address; CR/LF and commas are refused so a target can never add headers or recipients.
    to: Type.String({ minLength: 3, maxLength: 254, pattern: '^[^\\s@,;<>"]+@[^\\s@,;<>"]+$' }),
  },
  { additionalProperties: false },
);

export const WebhookTarget = Type.Object(
  {
    type: Type.Literal('webhook'),
    url: Type.String({ minLength: 8, maxLength: 2048, description: 'https, or http for allowed hosts' }),
    secret: Type.String({
      minLength: 16,
      maxLength: 256,
      description: 'HMAC-SHA256 key; never returned by the API',
    }),
  },
  { additionalProperties: false },
);

export const AlertTarget = Type.Union([EmailTarget, WebhookTarget]);
export type AlertTarget = Static<typeof AlertTarget>;

/** A target as the API returns it: the webhook secret is never shown again. */
export const AlertTargetView = Type.Union([
  EmailTarget,
  Type.Object({ type: Type.Literal('webhook'), url: Type.String(), secretSet: Type.Boolean() }),
]);
export type AlertTargetView = Static<typeof AlertTargetView>;

const ruleFields = {
  name: Type.String({ minLength: 1, maxLength: 120 }),
  deviceId: Type.Optional(
    Type.String({ pattern: DEVICE_ID_PATTERN, description: 'absent = every device of the fleet' }),
  ),
  kind: Type.Union(ALERT_KINDS.map((k) => Type.Literal(k))),
  sensor: Type.Optional(
    Type.String({ pattern: SENSOR_NAME_PATTERN, description: 'above / below: the sensor judged' }),
  ),
  threshold: Type.Optional(
    Type.Number({ description: 'above / below: the level; backlog: readings not yet delivered' }),
  ),
  clear: Type.Optional(
    Type.Number({
      description:
        'above / below: the level that resolves (hysteresis); default = threshold. Must be ≤ threshold for above, ≥ for below',
    }),
  ),
  forS: Type.Integer({
    minimum: 0,
    maximum: 7 * 86_400,
    default: 0,
    description: 'how long the condition must hold before firing; offline / no_data: N',
  }),
  severity: Type.Union(ALERT_SEVERITIES.map((s) => Type.Literal(s))),
  targets: Type.Array(AlertTarget, { maxItems: MAX_ALERT_TARGETS }),
  repeatS: Type.Optional(
    Type.Integer({
      minimum: 60,
      maximum: 30 * 86_400,
      description: 'notify again every repeatS while firing; default: never',
    }),
  ),
  enabled: Type.Optional(Type.Boolean({ default: true })),
};

/** POST /api/alert-rules (admin). Cross-field rules (sensor needed, clear side, targets allowed) are checked by the server with a 400 naming the field. */
export const AlertRuleBody = Type.Object(ruleFields, { additionalProperties: false });
export type AlertRuleBody = Static<typeof AlertRuleBody>;

/** PATCH /api/alert-rules/{id}: any subset; `null` removes an optional field (deviceId, sensor, threshold, clear, repeatS). */
export const AlertRulePatch = Type.Object(
  {
    name: Type.Optional(ruleFields.name),
    deviceId: Type.Optional(Nullable(Type.String({ pattern: DEVICE_ID_PATTERN }))),
    kind: Type.Optional(ruleFields.kind),
    sensor: Type.Optional(Nullable(Type.String({ pattern: SENSOR_NAME_PATTERN }))),
    threshold: Type.Optional(Nullable(Type.Number())),
    clear: Type.Optional(Nullable(Type.Number())),
    forS: Type.Optional(Type.Integer({ minimum: 0, maximum: 7 * 86_400 })),
    severity: Type.Optional(ruleFields.severity),
    targets: Type.Optional(ruleFields.targets),
    repeatS: Type.Optional(Nullable(Type.Integer({ minimum: 60, maximum: 30 * 86_400 }))),
    enabled: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type AlertRulePatch = Static<typeof AlertRulePatch>;

/**
 * A row id in a URL or query string. The maximum is not decoration: fastify's coercion turns `1e309` into
 * Infinity, which Ajv's integer check lets through (Infinity % 1 is NaN), and the database then sees it.
 */
const RowId = () => Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER });

export const AlertRuleIdParams = Type.Object({ id: RowId() });
export type AlertRuleIdParams = Static<typeof AlertRuleIdParams>;

export const AlertRuleView = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  deviceId: Nullable(Type.String()),
  kind: ruleFields.kind,
  sensor: Nullable(Type.String()),
  threshold: Nullable(Type.Number()),
  clear: Nullable(Type.Number()),
  forS: Type.Integer(),
  severity: ruleFields.severity,
  targets: Type.Array(AlertTargetView),
  repeatS: Nullable(Type.Integer()),
  enabled: Type.Boolean(),
  createdBy: Nullable(Type.String()),
  createdAt: Type.String(),
  updatedAt: Type.String(),
  openAlerts: Type.Integer({ description: 'pending or firing alerts of this rule' }),
});
export type AlertRuleView = Static<typeof AlertRuleView>;

export const AlertRuleList = Type.Object({ rules: Type.Array(AlertRuleView) });
export type AlertRuleList = Static<typeof AlertRuleList>;

/** POST /api/alert-rules/preview: how often a rule body would have fired over the last hours (from rollups). */
export const AlertRulePreviewQuery = Type.Object(
  { hours: Type.Optional(Type.Integer({ minimum: 1, maximum: 168, default: 24 })) },
  { additionalProperties: false },
);
export const AlertRulePreview = Type.Object({
  hours: Type.Integer(),
  fired: Type.Integer({ description: 'times the rule would have fired' }),
  devices: Type.Array(Type.Object({ deviceId: Type.String(), fired: Type.Integer() })),
  resolution: Type.String({ description: 'the rollup the preview judged (1m): short breaches may hide' }),
  supported: Type.Boolean({
    description: 'false for kinds the rollups cannot replay (offline, no_data, backlog)',
  }),
});
export type AlertRulePreview = Static<typeof AlertRulePreview>;

export const AlertView = Type.Object({
  id: Type.Integer(),
  ruleId: Type.Integer(),
  ruleName: Type.String(),
  kind: ruleFields.kind,
  deviceId: Type.String(),
  state: Type.Union(ALERT_STATES.map((s) => Type.Literal(s))),
  severity: ruleFields.severity,
  value: Nullable(
    Type.Number({ description: 'the value that last decided the state (sensor, seconds or backlog)' }),
  ),
  startedAt: Type.String({ description: 'the condition began to hold (measured time)' }),
  firedAt: Nullable(Type.String()),
  resolvedAt: Nullable(Type.String()),
  ackedBy: Nullable(Type.String()),
  ackedAt: Nullable(Type.String()),
  resolvedWhileOffline: Type.Boolean({
    description: 'judged from replayed readings after it had already cleared: notified as resolved only',
  }),
});
export type AlertView = Static<typeof AlertView>;

export const AlertListQuery = Type.Object(
  {
    state: Type.Optional(
      Type.Union([...ALERT_STATES.map((s) => Type.Literal(s)), Type.Literal('open')], {
        description: 'open = pending or firing',
      }),
    ),
    deviceId: Type.Optional(Type.String({ pattern: DEVICE_ID_PATTERN })),
    ruleId: Type.Optional(RowId()),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
    cursor: Type.Optional(Type.String({ pattern: '^[0-9]{1,20}$' })),
  },
  { additionalProperties: false },
);
export type AlertListQuery = Static<typeof AlertListQuery>;

/** Firing first (critical before warning before info), then pending, then history newest first. */
export const AlertList = Type.Object({ alerts: Type.Array(AlertView), next: Nullable(Type.String()) });
export type AlertList = Static<typeof AlertList>;

export const AlertIdParams = Type.Object({ id: RowId() });
export type AlertIdParams = Static<typeof AlertIdParams>;

/** The JSON body of a webhook; `id` is the notification's, stable across retries (deduplicate on it). */
export const AlertWebhookBody = Type.Object({
  id: Type.String(),
  alertId: Type.Integer(),
  ruleId: Type.Integer(),
  ruleName: Type.String(),
  deviceId: Type.String(),
  state: Type.Union([Type.Literal('firing'), Type.Literal('resolved')]),
  severity: ruleFields.severity,
  value: Nullable(Type.Number()),
  at: Type.String({ description: 'when the state changed (ISO-8601 UTC)' }),
  resolvedWhileOffline: Type.Optional(Type.Boolean()),
  url: Type.Optional(
    Type.String({ description: 'the device page in the web admin, when PUBLIC_URL is set' }),
  ),
});
export type AlertWebhookBody = Static<typeof AlertWebhookBody>;

/**
 * Storm control: the first notification for a target in a minute goes alone; the rest of that minute go
 * together in one message at its end, with this body (each item keeps its own stable `id`).
 */
export const AlertWebhookGroup = Type.Object({
  id: Type.String({ description: 'the group message id, stable across retries' }),
  group: Type.Array(AlertWebhookBody, { minItems: 2 }),
});
export type AlertWebhookGroup = Static<typeof AlertWebhookGroup>;

export const WEBHOOK_SIGNATURE_HEADER = 'x-sensorfleet-signature';

/** WebSocket /ws frame sent on every alert change. */
export interface AlertLiveMessage {
  type: 'alert';
  alert: AlertView;
}
