import type { AlertKind, AlertRuleBody, AlertTarget } from '@sensorfleet/shared/schemas/alerts';
import { badRequest, type ApiFailure } from '../errors.js';
import {
  checkWebhookTarget,
  WebhookRefused,
  type Resolver,
  type WebhookAllowList,
} from './webhook-address-policy.js';

/** A rule as stored: the body with the defaults applied and the fields its kind does not use removed. */
export interface RuleDefinition {
  name: string;
  deviceId: string | null;
  kind: AlertKind;
  sensor: string | null;
  threshold: number | null;
  clear: number | null;
  forS: number;
  severity: AlertRuleBody['severity'];
  targets: AlertTarget[];
  repeatS: number | null;
  enabled: boolean;
}

const SENSOR_KINDS = new Set<AlertKind>(['above', 'below']);

/**
 * The cross-field checks the JSON schema cannot express, as the first problem found (a 400 naming the
 * field) or undefined. Pure: the webhook addresses are checked by `checkRuleTargets`.
 */
export function ruleProblem(r: RuleDefinition, opts: { mailConfigured: boolean }): ApiFailure | undefined {
  if (SENSOR_KINDS.has(r.kind)) {
    if (r.sensor === null) return badRequest('body.sensor', `is required for kind ${r.kind}`);
    if (r.threshold === null) return badRequest('body.threshold', `is required for kind ${r.kind}`);
    if (r.clear !== null) {
      if (r.kind === 'above' && r.clear > r.threshold)
        return badRequest('body.clear', 'must be ≤ threshold for kind above (it is the level that resolves)');
      if (r.kind === 'below' && r.clear < r.threshold)
        return badRequest('body.clear', 'must be ≥ threshold for kind below (it is the level that resolves)');
    }
  } else {
    if (r.sensor !== null) return badRequest('body.sensor', `is only for kinds above and below`);
    if (r.clear !== null) return badRequest('body.clear', `is only for kinds above and below`);
  }
  if (r.kind === 'backlog') {
    if (r.threshold === null) return badRequest('body.threshold', 'is required for kind backlog');
    if (r.threshold < 0) return badRequest('body.threshold', 'must be ≥ 0 for kind backlog');
  }
  if (r.kind === 'offline' || r.kind === 'no_data') {
    if (r.threshold !== null) return badRequest('body.threshold', `is not used by kind ${r.kind}`);
    if (r.forS < 1) return badRequest('body.forS', `is N for kind ${r.kind} and must be ≥ 1`);
  }
  for (const [i, t] of r.targets.entries()) {
    if (t.type === 'email' && !opts.mailConfigured)
      return badRequest(`body.targets.${i}.to`, 'e-mail targets need SMTP_URL on the server (it is not set)');
  }
  return undefined;
}

/** Every webhook target against the address policy (with DNS): a 400 naming the first refused one. */
export async function checkRuleTargets(
  targets: readonly AlertTarget[],
  allow: WebhookAllowList,
  resolve?: Resolver,
): Promise<ApiFailure | undefined> {
  for (const [i, t] of targets.entries()) {
    if (t.type !== 'webhook') continue;
    try {
      await checkWebhookTarget(t.url, allow, resolve);
    } catch (err) {
      if (err instanceof WebhookRefused) return badRequest(`body.targets.${i}.url`, err.message);
      throw err;
    }
  }
  return undefined;
}

/** A POST body as a definition. */
export function definitionOfBody(b: AlertRuleBody): RuleDefinition {
  return {
    name: b.name,
    deviceId: b.deviceId ?? null,
    kind: b.kind,
    sensor: b.sensor ?? null,
    threshold: b.threshold ?? null,
    clear: b.clear ?? null,
    forS: b.forS ?? 0,
    severity: b.severity,
    targets: b.targets,
    repeatS: b.repeatS ?? null,
    enabled: b.enabled ?? true,
  };
}
