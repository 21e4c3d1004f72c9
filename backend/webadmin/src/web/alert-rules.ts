import { html, path, type SafeHtml } from '../pages/html.js';
import { conditionText, scopeHtml, severityBadge, targetsText, type AlertRuleView } from './alert-format.js';
import { ApiError, api } from './api.js';
import { setHtml } from './dom.js';
import { badge, formatDuration } from './format.js';

function rowHtml(r: AlertRuleView, canEdit: boolean): SafeHtml {
  const scope = r.deviceId
    ? html`<a href="${path`/devices/${r.deviceId}`}">${scopeHtml(r)}</a>`
    : html`<span class="muted">${scopeHtml(r)}</span>`;
  return html`<td data-label="Rule" class="c-title">
      <span class="alert-name">${r.name}</span><span class="alert-kind">${scope}</span>
    </td>
    <td data-label="Status" class="c-end nowrap">
      ${r.enabled ? badge('enabled', 'ok') : badge('disabled', 'idle')}${
        r.openAlerts
          ? html` <span class="open-count" title="pending or firing">${r.openAlerts} open</span>`
          : ''
      }
    </td>
    <td data-label="Condition" class="c-cond">
      <span class="mono">${conditionText(r)}</span>${
        r.repeatS
          ? html`<span class="alert-kind">repeats every ${formatDuration(r.repeatS * 1000)}</span>`
          : ''
      }
    </td>
    <td data-label="Severity">${severityBadge(r.severity)}</td>
    <td data-label="Notify" class="c-notify">${targetsText(r)}</td>
    ${
      canEdit
        ? html`<td data-label="Actions" class="actions c-wide">
            <button type="button" class="btn btn-sm" data-rule-action="edit" data-rule="${r.id}">Edit</button>
            <button type="button" class="btn btn-sm btn-danger-ghost" data-rule-action="delete" data-rule="${r.id}">
              Delete
            </button>
          </td>`
        : ''
    }`;
}

/**
 * The rules table. Everyone sees the rules (what would page whom is no secret inside the team); admins get
 * Edit and Delete. Deleting is two clicks on the same button, as removing a user is: no modal, no accident.
 */
export class RulesTable {
  private rules: AlertRuleView[] = [];

  constructor(
    private readonly rows: HTMLElement,
    private readonly opts: {
      canEdit: boolean;
      onEdit(rule: AlertRuleView): void;
      onDeleted(id: number): void;
      onError(message: string): void;
    },
  ) {
    rows.addEventListener('click', (ev) => {
      const button = (ev.target as HTMLElement).closest<HTMLButtonElement>('button[data-rule-action]');
      const rule = this.rules.find((r) => r.id === Number(button?.dataset.rule));
      if (!button || !rule) return;
      if (button.dataset.ruleAction === 'edit') return opts.onEdit(rule);
      if (button.dataset.armed !== 'yes') {
        button.dataset.armed = 'yes';
        button.textContent = 'Confirm delete';
        button.classList.add('btn-danger');
        setTimeout(() => {
          button.dataset.armed = '';
          button.textContent = 'Delete';
          button.classList.remove('btn-danger');
        }, 4000);
        return;
      }
      button.disabled = true;
      api.delete(path`/api/alert-rules/${rule.id}`).then(
        () => opts.onDeleted(rule.id),
        (err: unknown) => {
          button.disabled = false;
          if (!(err instanceof ApiError && err.status === 0))
            opts.onError(
              `Could not delete “${rule.name}”: ${err instanceof Error ? err.message : String(err)}`,
            );
        },
      );
    });
  }

  set(rules: AlertRuleView[]): void {
    this.rules = [...rules].sort((a, b) => a.name.localeCompare(b.name) || a.id - b.id);
    if (!this.rules.length) {
      setHtml(
        this.rows,
        html`<tr class="row-placeholder">
          <td colspan="6">
            No rules yet.
            ${this.opts.canEdit ? 'Add one with the form: a level, a sensor and who to tell.' : 'An admin adds them.'}
          </td>
        </tr>`,
      );
      return;
    }
    const frag = document.createDocumentFragment();
    for (const r of this.rules) {
      const tr = document.createElement('tr');
      tr.dataset.rule = String(r.id);
      tr.className = r.enabled ? '' : 'is-disabled';
      setHtml(tr, rowHtml(r, this.opts.canEdit));
      frag.append(tr);
    }
    this.rows.replaceChildren(frag);
  }
}
