import { ruleFormHtml } from './alert-rule-form.js';
import { html, type SafeHtml } from './html.js';

export interface AlertsQuery {
  state: string;
  deviceId: string;
  ruleId: string;
}

export const HISTORY_STATES: [string, string][] = [
  ['resolved', 'Resolved'],
  ['', 'Any state'],
  ['open', 'Open'],
  ['firing', 'Firing'],
  ['pending', 'Pending'],
];

/**
 * /alerts: open alerts (firing first), the history with filters, and the rules. web/alerts.ts fills every
 * table from the API and keeps the open ones live over /ws; admins also get the rule editor.
 */
export function alertsBody(q: AlertsQuery, canEdit: boolean): SafeHtml {
  return html`<div class="page-head">
      <div>
        <h1>Alerts</h1>
        <p class="sub" id="alerts-summary">Loading alerts…</p>
      </div>
      <div class="head-actions">
        <a class="btn" href="#rules">Rules</a>${canEdit ? html`<a class="btn btn-primary" href="#rule-editor" id="rule-new">New rule</a>` : ''}
      </div>
    </div>
    <div class="form-error" id="alerts-error" role="alert" hidden></div>

    <section class="card table-card" aria-labelledby="open-h">
      <div class="section-head"><h2 id="open-h">Open alerts</h2></div>
      <table class="table table-cards" id="open-table">
        <thead>
          <tr>
            <th>Alert</th>
            <th>State</th>
            <th>Severity</th>
            <th>Device</th>
            <th>Since</th>
            <th class="num">Value</th>
            <th>Acknowledged</th>
          </tr>
        </thead>
        <tbody id="open-rows">
          <tr class="row-placeholder">
            <td colspan="7"><span class="spinner"></span> Loading…</td>
          </tr>
        </tbody>
      </table>
    </section>

    <section class="card table-card" aria-labelledby="history-h">
      <div class="section-head"><h2 id="history-h">History</h2></div>
      <form class="toolbar history-filter" id="history-filter" method="get" action="/alerts">
        <label class="field"
          ><span>State</span
          ><select name="state">
            ${HISTORY_STATES.map(
              ([v, l]) => html`<option value="${v}" ${v === q.state ? html` selected` : ''}>${l}</option>`,
            )}
          </select></label
        >
        <label class="field field-grow"
          ><span>Device</span
          ><input name="deviceId" value="${q.deviceId}" placeholder="any device" autocomplete="off" spellcheck="false"
        /></label>
        <label class="field field-grow"
          ><span>Rule</span
          ><select name="ruleId" data-selected="${q.ruleId}">
            <option value="">any rule</option>
          </select></label
        >
        <div class="field field-actions">
          <button class="btn btn-primary" type="submit">Show</button
          ><a class="btn btn-ghost" href="/alerts">Clear</a>
        </div>
      </form>
      <table class="table table-cards" id="history-table">
        <thead>
          <tr>
            <th>Alert</th>
            <th>State</th>
            <th>Severity</th>
            <th>Device</th>
            <th>Started</th>
            <th>Resolved</th>
            <th class="num">Lasted</th>
            <th class="num">Value</th>
            <th>Notes</th>
          </tr>
        </thead>
        <tbody id="history-rows">
          <tr class="row-placeholder">
            <td colspan="9"><span class="spinner"></span> Loading…</td>
          </tr>
        </tbody>
      </table>
      <div class="empty" id="history-empty" hidden></div>
      <nav class="pager pager-in-card">
        <button type="button" class="btn" id="history-more" hidden>Load older alerts</button>
      </nav>
    </section>

    <div class="rules-area" id="rules">
      <section class="card table-card" aria-labelledby="rules-h">
        <div class="section-head">
          <h2 id="rules-h">Rules</h2>
          ${canEdit ? '' : html`<span class="hint-inline muted">Admins edit rules.</span>`}
        </div>
        <div class="form-error" id="rules-error" role="alert" hidden></div>
        <table class="table table-cards" id="rules-table">
          <thead>
            <tr>
              <th>Rule</th>
              <th>Status</th>
              <th>Condition</th>
              <th>Severity</th>
              <th>Notify</th>
              ${canEdit ? html`<th class="actions">Actions</th>` : ''}
            </tr>
          </thead>
          <tbody id="rule-rows">
            <tr class="row-placeholder">
              <td colspan="6"><span class="spinner"></span> Loading…</td>
            </tr>
          </tbody>
        </table>
      </section>
      ${canEdit ? ruleFormHtml() : ''}
    </div>`;
}
