import type { AlertKind, AlertRuleView, AlertSeverity, AlertView } from '@sensorfleet/shared/schemas/alerts';
import { html, type SafeHtml } from '../pages/html.js';
import { badge, formatDuration, formatNumber, formatValue, SENSORS, type Tone } from './format.js';

export type { AlertKind, AlertRuleView, AlertSeverity, AlertView };

export const SEVERITY_TONE: Record<AlertSeverity, Tone> = { critical: 'bad', warning: 'warn', info: 'info' };
const SEVERITY_RANK: Record<AlertSeverity, number> = { critical: 0, warning: 1, info: 2 };

export const KIND_LABEL: Record<AlertKind, string> = {
  above: 'Sensor above a level',
  below: 'Sensor below a level',
  offline: 'Device offline',
  no_data: 'No readings',
  backlog: 'Backlog too large',
};

export function severityBadge(s: AlertSeverity): SafeHtml {
  return badge(s, SEVERITY_TONE[s] ?? 'idle');
}

export function stateBadge(a: Pick<AlertView, 'state' | 'severity'>): SafeHtml {
  if (a.state === 'firing') return badge('firing', SEVERITY_TONE[a.severity] ?? 'bad');
  if (a.state === 'pending') return badge('pending', 'idle');
  return badge('resolved', 'ok');
}

/** Firing before pending, critical before warning before info, then the newest first (the API's order). */
export function compareOpen(a: AlertView, b: AlertView): number {
  const state = (x: AlertView) => (x.state === 'firing' ? 0 : 1);
  return (
    state(a) - state(b) ||
    SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] ||
    (b.firedAt ?? b.startedAt).localeCompare(a.firedAt ?? a.startedAt) ||
    b.id - a.id
  );
}

/** When an alert began to matter: fired for a firing one, the condition's start for a pending one. */
export function sinceOf(a: AlertView): string {
  return a.firedAt ?? a.startedAt;
}

const levelText = (sensor: string | null, v: number | null) =>
  v === null ? '—' : sensor ? formatValue(sensor, v) : formatNumber(v);

/**
 * The value that decided an alert, in its rule's terms: a sensor value with the sensor's unit, seconds
 * offline or without data as a duration, a backlog as readings. Without the rule it is a bare number.
 */
export function alertValue(a: AlertView, rule: AlertRuleView | undefined): string {
  if (a.value === null) return '—';
  switch (a.kind) {
    case 'offline':
    case 'no_data':
      // 0 is "back just now", not "0 ms".
      return a.value < 1 ? '0 s' : formatDuration(a.value * 1000);
    case 'backlog':
      return `${formatNumber(a.value)} readings`;
    default: {
      const sensor = rule?.sensor ?? null;
      // A sensor without a fixed unit is named, or "0.95" would mean nothing.
      return sensor && !SENSORS[sensor]
        ? `${sensor} ${levelText(sensor, a.value)}`
        : levelText(sensor, a.value);
    }
  }
}

/** "temperature > 30.0 °C for 5 min, clears at 28.0 °C" — what a rule watches, in one line. */
export function conditionText(r: AlertRuleView): string {
  const forText = r.forS ? ` for ${formatDuration(r.forS * 1000)}` : '';
  switch (r.kind) {
    case 'above':
    case 'below': {
      const op = r.kind === 'above' ? '>' : '<';
      const clear =
        r.clear !== null && r.clear !== r.threshold ? `, clears at ${levelText(r.sensor, r.clear)}` : '';
      return `${r.sensor ?? '?'} ${op} ${levelText(r.sensor, r.threshold)}${forText}${clear}`;
    }
    case 'offline':
      return `offline${forText || ' at once'}`;
    case 'no_data':
      return `no readings${forText || ' at once'}`;
    case 'backlog':
      return `backlog > ${formatNumber(r.threshold)} readings${forText}`;
  }
}

/** The rule's targets as short text: "ops@example.com, webhook hooks.example.net". */
export function targetsText(r: AlertRuleView): string {
  if (!r.targets.length) return 'no one (shown here only)';
  return r.targets
    .map((t) => {
      if (t.type === 'email') return t.to;
      try {
        return `webhook ${new URL(t.url).host}`;
      } catch {
        return 'webhook';
      }
    })
    .join(', ');
}

export function scopeHtml(r: Pick<AlertRuleView, 'deviceId'>): SafeHtml {
  return r.deviceId ? html`<span class="mono">${r.deviceId}</span>` : html`<span>whole fleet</span>`;
}
