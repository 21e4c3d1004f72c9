import type { AlertList, AlertRuleList } from '@sensorfleet/shared/schemas/alerts';
import { html } from '../pages/html.js';
import { paintAlertCount } from './alert-count.js';
import type { AlertRuleView, AlertView } from './alert-format.js';
import { historyRowHtml, OpenAlertList } from './alert-list.js';
import { RuleEditor } from './alert-rule-editor.js';
import { RulesTable } from './alert-rules.js';
import { ApiError, api, withQuery } from './api.js';
import { byId, pageData, setHtml } from './dom.js';
import { LiveConnection } from './live.js';
import { bootShell } from './shell.js';

bootShell();

const canAck = pageData('ack') === 'yes';
const canEdit = pageData('edit') === 'yes';
const rules = new Map<number, AlertRuleView>();
const pageError = byId('alerts-error');
const summary = byId('alerts-summary');

function fail(message: string): void {
  pageError.textContent = message;
  pageError.hidden = false;
}
const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

// ── open alerts ────────────────────────────────────────────
const open = new OpenAlertList(byId('open-rows'), {
  canAck,
  showDevice: true,
  columns: 7,
  emptyText: 'No open alerts: all clear.',
  rule: (id) => rules.get(id),
  onError: fail,
  onChange: paintSummary,
});

function paintSummary(list: AlertView[]): void {
  const firing = list.filter((a) => a.state === 'firing');
  const critical = firing.filter((a) => a.severity === 'critical').length;
  const pending = list.length - firing.length;
  const parts = [
    firing.length ? `${firing.length} firing${critical ? ` (${critical} critical)` : ''}` : 'Nothing firing',
    ...(pending ? [`${pending} pending`] : []),
    `${rules.size} rule${rules.size === 1 ? '' : 's'}`,
  ];
  summary.textContent = parts.join(' · ');
  paintAlertCount(
    firing.length,
    firing.find((a) => a.severity === 'critical') ? 'critical' : firing[0]?.severity,
  );
}

async function loadOpen(): Promise<void> {
  try {
    const res = await api.get<AlertList>('/api/alerts', { state: 'open', limit: 500 });
    open.set(res.alerts);
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 0))
      fail(`Could not load the open alerts: ${messageOf(err)}`);
  }
}

// ── history ────────────────────────────────────────────────
const filter = byId<HTMLFormElement>('history-filter');
const historyRows = byId('history-rows');
const historyEmpty = byId('history-empty');
const more = byId<HTMLButtonElement>('history-more');
const ruleSelect = filter.elements.namedItem('ruleId') as HTMLSelectElement;
let next: string | null = null;
/** What the history shows, to repaint a row when a live frame changes it. */
const historyShown = new Map<number, AlertView>();

function historyQuery(): { state: string; deviceId: string; ruleId: string } {
  const data = new FormData(filter);
  return {
    state: String(data.get('state') ?? ''),
    deviceId: String(data.get('deviceId') ?? '').trim(),
    ruleId: String(data.get('ruleId') ?? '') || ruleSelect.dataset.selected || '',
  };
}

function matches(a: AlertView, q: ReturnType<typeof historyQuery>): boolean {
  const state = q.state === 'open' ? a.state !== 'resolved' : !q.state || a.state === q.state;
  return state && (!q.deviceId || a.deviceId === q.deviceId) && (!q.ruleId || String(a.ruleId) === q.ruleId);
}

function historyRow(a: AlertView): HTMLTableRowElement {
  const tr = document.createElement('tr');
  tr.dataset.id = String(a.id);
  tr.dataset.state = a.state;
  tr.className = `sev-${a.severity}`;
  setHtml(tr, historyRowHtml(a, rules.get(a.ruleId)));
  return tr;
}

function paintHistoryEmpty(): void {
  const none = historyShown.size === 0;
  historyEmpty.hidden = !none;
  if (!none) return;
  const q = historyQuery();
  setHtml(
    historyEmpty,
    q.deviceId || q.ruleId || q.state !== 'resolved'
      ? html`<h2>No alerts match</h2>
          <p>Nothing matches these filters. <a href="/alerts">Show all resolved alerts</a>.</p>`
      : html`<h2>No resolved alerts yet</h2>
          <p>Alerts appear here once they resolve; the open ones are above.</p>`,
  );
}

let historyLoad = 0;
async function loadHistory(append: boolean): Promise<void> {
  const mine = ++historyLoad;
  const q = historyQuery();
  more.disabled = true;
  try {
    const res = await api.get<AlertList>('/api/alerts', {
      state: q.state || undefined,
      deviceId: q.deviceId || undefined,
      ruleId: q.ruleId || undefined,
      limit: 25,
      cursor: append ? (next ?? undefined) : undefined,
    });
    if (mine !== historyLoad) return;
    next = res.next;
    if (!append) historyShown.clear();
    const frag = document.createDocumentFragment();
    for (const a of res.alerts) {
      if (historyShown.has(a.id)) continue;
      historyShown.set(a.id, a);
      frag.append(historyRow(a));
    }
    if (append) historyRows.append(frag);
    else historyRows.replaceChildren(frag);
    paintHistoryEmpty();
    more.hidden = !next;
  } catch (err) {
    if (mine !== historyLoad || (err instanceof ApiError && err.status === 0)) return;
    historyRows.replaceChildren();
    historyShown.clear();
    setHtml(
      historyEmpty,
      html`<h2>Could not load the alert history</h2>
        <p>${messageOf(err)}</p>`,
    );
    historyEmpty.hidden = false;
  } finally {
    more.disabled = false;
  }
}

/** A live frame: repaint its row, or put a newly matching alert on top (the history is newest first). */
function applyHistory(a: AlertView): void {
  const q = historyQuery();
  const tr = historyRows.querySelector<HTMLTableRowElement>(`tr[data-id="${a.id}"]`);
  if (tr && matches(a, q)) {
    historyShown.set(a.id, a);
    tr.replaceWith(historyRow(a));
  } else if (tr) {
    historyShown.delete(a.id);
    tr.remove();
  } else if (matches(a, q)) {
    historyShown.set(a.id, a);
    historyRows.prepend(historyRow(a));
  }
  paintHistoryEmpty();
}

filter.addEventListener('submit', (ev) => {
  ev.preventDefault();
  ruleSelect.dataset.selected = '';
  const q = historyQuery();
  history.replaceState(
    null,
    '',
    withQuery('/alerts', {
      state: q.state === 'resolved' ? undefined : q.state || 'any',
      deviceId: q.deviceId,
      ruleId: q.ruleId,
    }),
  );
  void loadHistory(false);
});
filter.addEventListener('change', (ev) => {
  if ((ev.target as HTMLElement).tagName === 'SELECT') filter.requestSubmit();
});
more.addEventListener('click', () => void loadHistory(true));

// ── rules ──────────────────────────────────────────────────
const rulesError = byId('rules-error');
const editor = canEdit
  ? new RuleEditor({
      onSaved: () => {
        void loadRules();
      },
    })
  : undefined;
const rulesTable = new RulesTable(byId('rule-rows'), {
  canEdit,
  onEdit: (rule) => editor?.edit(rule),
  onDeleted: (id) => {
    editor?.forget(id);
    void loadRules();
  },
  onError: (message) => {
    rulesError.textContent = message;
    rulesError.hidden = false;
  },
});
document.getElementById('rule-new')?.addEventListener('click', () => editor?.newRule());

function paintRuleOptions(): void {
  const current = ruleSelect.value || ruleSelect.dataset.selected || '';
  const sorted = [...rules.values()].sort((a, b) => a.name.localeCompare(b.name));
  setHtml(
    ruleSelect,
    html`<option value="">any rule</option>
      ${sorted.map((r) => html`<option value="${r.id}" ${String(r.id) === current ? html` selected` : ''}>${r.name}</option>`)}`,
  );
}

async function loadRules(): Promise<void> {
  try {
    const res = await api.get<AlertRuleList>('/api/alert-rules');
    rulesError.hidden = true;
    rules.clear();
    for (const r of res.rules) rules.set(r.id, r);
    rulesTable.set(res.rules);
    paintRuleOptions();
    // Values get their units from the rule's sensor.
    if (open.loaded) open.render();
    for (const a of historyShown.values()) applyHistory(a);
  } catch (err) {
    if (err instanceof ApiError && err.status === 0) return;
    rulesError.textContent = `Could not load the rules: ${messageOf(err)}`;
    rulesError.hidden = false;
  }
}

// ── live ───────────────────────────────────────────────────
// A rule's open count follows its alerts; one refetch per burst of frames is plenty.
let rulesRefetch: ReturnType<typeof setTimeout> | undefined;
function refetchRulesSoon(): void {
  clearTimeout(rulesRefetch);
  rulesRefetch = setTimeout(() => void loadRules(), 1500);
}

function resync(): void {
  void loadOpen();
  void loadHistory(false);
  void loadRules();
}

new LiveConnection({
  subscribe: '*',
  onMessage(msg) {
    if (msg.type === 'dropped') return resync();
    if (msg.type !== 'alert') return;
    const a = msg.alert as AlertView | undefined;
    if (!a || typeof a.id !== 'number') return;
    open.apply(a);
    applyHistory(a);
    refetchRulesSoon();
  },
  onResync: resync,
}).start();

// Frames cover changes; this covers a replica that missed one (and the "since" of a new pending alert).
setInterval(() => {
  if (document.visibilityState === 'visible') void loadOpen();
}, 60_000);

void loadRules();
void loadOpen();
void loadHistory(false);
