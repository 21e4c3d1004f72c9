import { html, path, type SafeHtml } from '../pages/html.js';
import {
  alertValue,
  compareOpen,
  KIND_LABEL,
  severityBadge,
  sinceOf,
  stateBadge,
  type AlertRuleView,
  type AlertView,
} from './alert-format.js';
import { ApiError, api } from './api.js';
import { setHtml } from './dom.js';
import { formatDuration } from './format.js';
import { agoHtml, timeHtml } from './time.js';

export type RuleLookup = (ruleId: number) => AlertRuleView | undefined;

function alertCell(a: AlertView): SafeHtml {
  const kind = KIND_LABEL[a.kind] ?? a.kind;
  return html`<td data-label="Alert" class="c-title">
    <span class="alert-name">${a.ruleName}</span>${
      kind.toLowerCase() === a.ruleName.trim().toLowerCase()
        ? ''
        : html`<span class="alert-kind">${kind}</span>`
    }
  </td>`;
}

const deviceCell = (a: AlertView) =>
  html`<td data-label="Device" class="nowrap"><a href="${path`/devices/${a.deviceId}`}">${a.deviceId}</a></td>`;

function ackCell(a: AlertView, canAck: boolean): SafeHtml {
  if (a.ackedAt)
    return html`<td data-label="Acknowledged" class="nowrap">
      <span class="acked">✓ ${a.ackedBy ?? 'someone'}</span> ${agoHtml(a.ackedAt)}
    </td>`;
  if (!canAck) return html`<td data-label="Acknowledged" class="muted">not yet</td>`;
  return html`<td data-label="Acknowledged" class="actions">
    <button type="button" class="btn btn-sm" data-ack="${a.id}" aria-label="Acknowledge ${a.ruleName} on ${a.deviceId}">
      Acknowledge
    </button>
  </td>`;
}

export function openRowHtml(a: AlertView, rule: AlertRuleView | undefined, o: ListOptions): SafeHtml {
  return html`${alertCell(a)}
    <td data-label="State" class="c-end">${stateBadge(a)}</td>
    <td data-label="Severity">${severityBadge(a.severity)}</td>
    ${o.showDevice ? deviceCell(a) : ''}
    <td data-label="${a.state === 'firing' ? 'Firing since' : 'Pending since'}">${agoHtml(sinceOf(a))}</td>
    <td data-label="Value" class="num nowrap">${alertValue(a, rule)}</td>
    ${ackCell(a, o.canAck)}`;
}

export function historyRowHtml(a: AlertView, rule: AlertRuleView | undefined): SafeHtml {
  const end = a.resolvedAt ? Date.parse(a.resolvedAt) : Date.now();
  const lasted = end - Date.parse(a.startedAt);
  const notes = [
    a.firedAt
      ? ''
      : html`<span class="muted" title="The condition did not hold long enough to fire">never fired</span>`,
    a.resolvedWhileOffline
      ? html`<span class="badge badge-idle" title="Judged from readings replayed after the device came back: it had already cleared, so only the resolve was notified">resolved while offline</span>`
      : '',
    a.ackedAt ? html`<span class="muted">acknowledged by ${a.ackedBy ?? 'someone'}</span>` : '',
  ].filter(Boolean);
  return html`${alertCell(a)}
    <td data-label="State" class="c-end">${stateBadge(a)}</td>
    <td data-label="Severity">${severityBadge(a.severity)}</td>
    ${deviceCell(a)}
    <td data-label="Started">${timeHtml(a.startedAt)}</td>
    <td data-label="Resolved">${timeHtml(a.resolvedAt)}</td>
    <td data-label="Lasted" class="num nowrap">${Number.isFinite(lasted) ? formatDuration(Math.max(0, lasted)) : '—'}</td>
    <td data-label="Value" class="num nowrap">${alertValue(a, rule)}</td>
    <td data-label="Notes" class="c-wide${notes.length ? '' : ' is-empty'}">
      <span class="notes-cell">${notes}</span>
    </td>`;
}

export interface ListOptions {
  canAck: boolean;
  showDevice: boolean;
}

/**
 * The open (pending or firing) alerts of a page, kept in the API's order as live frames come: a frame
 * for a resolved alert takes it out, any other puts it in or updates it. Acknowledge buttons are handled
 * here too, so the alerts page and the device page behave the same.
 */
export class OpenAlertList {
  private readonly alerts = new Map<number, AlertView>();
  /** Set when the first load failed: a live frame must not paint a half list as if it were whole. */
  loaded = false;

  constructor(
    private readonly rows: HTMLElement,
    private readonly opts: ListOptions & {
      rule: RuleLookup;
      columns: number;
      emptyText: string;
      onError(message: string): void;
      onChange?(alerts: AlertView[]): void;
      /** Only these alerts belong to the list (the device page keeps its device's). */
      accept?(a: AlertView): boolean;
    },
  ) {
    rows.addEventListener('click', (ev) => {
      const button = (ev.target as HTMLElement).closest<HTMLButtonElement>('button[data-ack]');
      if (button) void this.ack(Number(button.dataset.ack), button);
    });
  }

  list(): AlertView[] {
    return [...this.alerts.values()].sort(compareOpen);
  }

  set(alerts: AlertView[]): void {
    this.alerts.clear();
    for (const a of alerts) if (a.state !== 'resolved') this.alerts.set(a.id, a);
    this.loaded = true;
    this.render();
  }

  /** A live frame or an answer: true when the list changed. */
  apply(a: AlertView): boolean {
    if (this.opts.accept && !this.opts.accept(a)) return false;
    if (a.state === 'resolved') {
      if (!this.alerts.delete(a.id)) return false;
    } else this.alerts.set(a.id, a);
    if (this.loaded) this.render();
    return true;
  }

  render(): void {
    const list = this.list();
    this.opts.onChange?.(list);
    if (!list.length) {
      setHtml(
        this.rows,
        html`<tr class="row-placeholder row-clear">
          <td colspan="${this.opts.columns}"><span class="all-clear">✓</span> ${this.opts.emptyText}</td>
        </tr>`,
      );
      return;
    }
    const frag = document.createDocumentFragment();
    for (const a of list) {
      const tr = document.createElement('tr');
      tr.dataset.id = String(a.id);
      tr.dataset.state = a.state;
      tr.className = `sev-${a.severity}${a.ackedAt ? ' is-acked' : ''}`;
      setHtml(tr, openRowHtml(a, this.opts.rule(a.ruleId), this.opts));
      frag.append(tr);
    }
    this.rows.replaceChildren(frag);
  }

  private async ack(id: number, button: HTMLButtonElement): Promise<void> {
    button.disabled = true;
    try {
      const res = await api.post<AlertView | { alert: AlertView } | undefined>(
        path`/api/alerts/${id}/ack`,
        {},
      );
      const alert = res && 'alert' in res ? res.alert : res;
      if (alert && typeof alert.id === 'number') this.apply(alert);
      else {
        const known = this.alerts.get(id);
        if (known) this.apply({ ...known, ackedAt: new Date().toISOString(), ackedBy: 'you' });
      }
    } catch (err) {
      button.disabled = false;
      if (err instanceof ApiError && err.status === 0) return;
      this.opts.onError(
        err instanceof ApiError && err.status === 403
          ? 'Your role may not acknowledge alerts (operators and admins can).'
          : `Could not acknowledge: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }
}
