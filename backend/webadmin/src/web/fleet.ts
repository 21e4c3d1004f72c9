import { html, path, type SafeHtml } from '../pages/html.js';
import { ApiError, api } from './api.js';
import { clockJumpSummary } from './clock-jump.js';
import { applyLive, type Device } from './devices.js';
import { byId, setHtml } from './dom.js';
import { badge, dot, formatDuration, formatNumber, formatValue, SENSORS, sensorsInOrder } from './format.js';
import { LiveConnection } from './live.js';
import { bootShell } from './shell.js';
import { agoHtml } from './time.js';

bootShell();

const form = byId<HTMLFormElement>('fleet-filter');
const rowsEl = byId('fleet-rows');
const emptyEl = byId('fleet-empty');
const summary = byId('fleet-summary');
const prevBtn = byId<HTMLButtonElement>('page-prev');
const nextBtn = byId<HTMLButtonElement>('page-next');
const pageInfo = byId('page-info');

/** Only the rows of the current page exist, in the DOM and here: 1,000 devices cost one page. */
const shown = new Map<string, Device>();
let order: string[] = [];
/** Cursors of the pages before this one (the API pages forward only). */
const cursors: (string | undefined)[] = [];
let cursor: string | undefined = new URLSearchParams(location.search).get('cursor') ?? undefined;
let next: string | undefined;
let total: number | undefined;
let loading = 0;

function filters(): Record<string, string> {
  const data = new FormData(form);
  const out: Record<string, string> = {};
  for (const k of ['search', 'online', 'sort', 'limit']) out[k] = String(data.get(k) ?? '');
  return out;
}

function sensorCell(d: Device): SafeHtml {
  const s = d.state?.sensor;
  if (!s?.status) return html`<span class="muted">—</span>`;
  const tone = s.status === 'ok' ? 'ok' : s.status === 'error' ? 'bad' : 'idle';
  const title = s.lastError ? `${s.status}: ${s.lastError}` : `${s.driver ?? ''} ${s.model ?? ''}`.trim();
  const clockJump = clockJumpSummary(s);
  return html`<span title="${title}">${badge(s.status, tone)}</span>${
    clockJump ? html` <span class="clock-jump" title="${clockJump}">${badge('clock', 'warn')}</span>` : ''
  }`;
}

function latestCell(d: Device): SafeHtml {
  const latest = d.latest ?? {};
  const names = sensorsInOrder(Object.keys(latest)).filter((n) => n !== 'heat_index' && n !== 'dew_point');
  if (!names.length) return html`<span class="muted">no readings</span>`;
  return html`<span class="values"
    >${names.map(
      // A sensor without a fixed unit is named, or "0.95" would mean nothing.
      (n) =>
        html`<span class="value" title="${n}">${SENSORS[n] ? '' : `${n} `}${formatValue(n, latest[n]?.value)}</span>`,
    )}</span
  >`;
}

function rowHtml(d: Device): SafeHtml {
  const st = d.state;
  const backlog = st?.backlog;
  const measuring =
    st?.running === undefined
      ? html`<span class="muted">—</span>`
      : st.running
        ? badge('running', 'ok')
        : badge('stopped', 'warn');
  // An offline device's state is what it last reported: shown, but dimmed (class "st").
  return html`<td data-label="Device" class="cell-device c-title"><a href="${path`/devices/${d.id}`}"><span class="device-name">${d.name || d.id}</span>${d.name ? html`<span class="device-id">${d.id}</span>` : ''}</a></td>
<td data-label="Status" class="cell-status c-end" data-key="online">${d.online ? dot('ok', 'Online') : dot('idle', 'Offline')}</td>
<td data-label="Last seen">${agoHtml(d.lastSeen)}</td>
<td data-label="Measuring" class="st" data-key="running">${measuring}</td>
<td data-label="Interval" class="st num">${formatDuration(st?.intervalMs)}</td>
<td data-label="Backlog" class="st num${backlog ? ' warn-text' : ''}">${formatNumber(backlog)}</td>
<td data-label="Sensor" class="st">${sensorCell(d)}</td>
<td data-label="Version" class="st mono">${st?.version ?? '—'}</td>
<td data-label="Latest" class="st cell-latest c-wide">${latestCell(d)}</td>`;
}

function paintSummary(): void {
  const f = filters();
  const online = order.filter((id) => shown.get(id)?.online).length;
  const n = total ?? order.length;
  const what = f.search || f.online ? ' matching' : '';
  const onlineText =
    n === order.length ? `${online} online` : `${online} of the ${order.length} on this page online`;
  summary.textContent = order.length
    ? `${n.toLocaleString()} device${n === 1 ? '' : 's'}${what} · ${onlineText}`
    : f.search || f.online
      ? 'No matches'
      : 'No devices';
}

function renderAll(): void {
  const f = filters();
  if (!order.length) {
    rowsEl.replaceChildren();
    const filtered = f.search || f.online;
    setHtml(
      emptyEl,
      filtered
        ? html`<h2>No devices match</h2>
            <p>Nothing matches these filters. <a href="/">Show all devices</a>.</p>`
        : html`<h2>No devices yet</h2>
            <p>
              Provision one with <code>npm run device -- add &lt;id&gt;</code>; it appears here as soon as it
              connects.
            </p>`,
    );
    emptyEl.hidden = false;
  } else {
    emptyEl.hidden = true;
    const frag = document.createDocumentFragment();
    for (const id of order) {
      const d = shown.get(id);
      if (!d) continue;
      const tr = document.createElement('tr');
      tr.dataset.id = id;
      tr.dataset.online = String(d.online);
      setHtml(tr, rowHtml(d));
      frag.append(tr);
    }
    rowsEl.replaceChildren(frag);
  }
  paintSummary();
  const page = cursors.length + 1;
  const pages = total !== undefined ? Math.max(1, Math.ceil(total / (Number(f.limit) || 50))) : undefined;
  pageInfo.textContent = cursors.length || next ? `Page ${page}${pages ? ` of ${pages}` : ''}` : '';
  prevBtn.disabled = cursors.length === 0;
  nextBtn.disabled = !next;
  byId('fleet-pager').hidden = cursors.length === 0 && !next;
}

async function load(): Promise<void> {
  const mine = ++loading;
  const f = filters();
  try {
    const res = await api.get<{ devices: Device[]; next?: string | null; total?: number }>('/api/devices', {
      search: f.search,
      online: f.online,
      sort: f.sort,
      limit: f.limit,
      cursor,
    });
    if (mine !== loading) return; // a newer request (typing) replaced this one
    shown.clear();
    for (const d of res.devices) shown.set(d.id, d);
    order = res.devices.map((d) => d.id);
    next = res.next ?? undefined;
    total = res.total;
    renderAll();
  } catch (err) {
    if (mine !== loading || (err instanceof ApiError && err.status === 0)) return;
    rowsEl.replaceChildren();
    setHtml(
      emptyEl,
      html`<h2>Could not load devices</h2>
        <p>${err instanceof Error ? err.message : String(err)}</p>`,
    );
    emptyEl.hidden = false;
  }
}

function syncUrl(): void {
  const q = new URLSearchParams();
  const f = filters();
  if (f.search) q.set('search', f.search);
  if (f.online) q.set('online', f.online);
  if (f.sort && f.sort !== 'id') q.set('sort', f.sort);
  if (f.limit && f.limit !== '50') q.set('limit', f.limit);
  if (cursor) q.set('cursor', cursor);
  const s = q.toString();
  history.replaceState(null, '', s ? `/?${s}` : '/');
}

function restart(): void {
  cursors.length = 0;
  cursor = undefined;
  syncUrl();
  void load();
}

let typing: ReturnType<typeof setTimeout> | undefined;
form.addEventListener('input', (ev) => {
  clearTimeout(typing);
  typing = setTimeout(restart, (ev.target as HTMLElement).tagName === 'INPUT' ? 250 : 0);
});
form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  restart();
});
nextBtn.addEventListener('click', () => {
  if (!next) return;
  cursors.push(cursor);
  cursor = next;
  syncUrl();
  void load();
});
prevBtn.addEventListener('click', () => {
  if (!cursors.length) return;
  cursor = cursors.pop();
  syncUrl();
  void load();
});

// Live: repaint only the changed rows of this page, at most once per frame however many messages come.
const dirty = new Set<string>();
let frame = 0;
function paintDirty(): void {
  frame = 0;
  for (const id of dirty) {
    const d = shown.get(id);
    const tr = rowsEl.querySelector<HTMLTableRowElement>(`tr[data-id="${CSS.escape(id)}"]`);
    if (!d || !tr) continue;
    tr.dataset.online = String(d.online);
    setHtml(tr, rowHtml(d));
  }
  dirty.clear();
  paintSummary();
}

new LiveConnection({
  subscribe: '*',
  onMessage(msg) {
    if (msg.type === 'dropped') return void load();
    const d = msg.deviceId ? shown.get(msg.deviceId) : undefined;
    if (!d || !applyLive(d, msg)) return;
    dirty.add(d.id);
    frame ||= requestAnimationFrame(paintDirty);
  },
  onResync: () => void load(),
}).start();

// New, removed or re-sorted devices are not live messages: look at the page again now and then.
setInterval(() => {
  if (document.visibilityState === 'visible') void load();
}, 30_000);
void load();
