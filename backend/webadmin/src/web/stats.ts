import { html, path } from '../pages/html.js';
import { ApiError, api } from './api.js';
import { byId, setHtml } from './dom.js';
import { formatNumber } from './format.js';
import { bootShell } from './shell.js';
import { agoHtml, timeHtml } from './time.js';

bootShell();

interface Totals {
  messages: number;
  readings: number;
  storedReadings: number;
  duplicateReadings: number;
  rejectedReadings: number;
  rejectedMessages: number;
  storedRows: number;
}
interface Stats {
  from: string;
  to: string;
  windowMinutes: number;
  totals: Totals;
  rejectedByReason: { scope: string; reason: string; count: number }[];
  devices: (Totals & {
    deviceId: string;
    messagesPerMinute: number;
    storedReadingsPerMinute: number;
    lastMinute: string;
  })[];
}

const KPIS: [keyof Totals, string, string][] = [
  ['messages', 'Messages', 'all device topics'],
  ['storedReadings', 'Readings stored', 'new, exactly once'],
  ['duplicateReadings', 'Duplicates', 'replays, already stored'],
  ['rejectedReadings', 'Readings rejected', 'incl. seq conflicts'],
  ['rejectedMessages', 'Messages rejected', 'as a whole'],
  ['storedRows', 'Rows stored', 'incl. derived values'],
];

function render(s: Stats): void {
  const minutes = Math.max(1, s.windowMinutes);
  const span =
    minutes >= 2880
      ? `${minutes / 1440} days`
      : minutes >= 120
        ? `${minutes / 60} hours`
        : minutes === 60
          ? 'hour'
          : `${minutes} minutes`;
  byId('stats-window').textContent = `What the receivers took in over the last ${span}.`;
  setHtml(byId('stats-updated'), html`updated ${agoHtml(new Date().toISOString())}`);
  setHtml(
    byId('stats-totals'),
    html`${KPIS.map(([key, label, detail]) => {
      const n = s.totals[key];
      const bad = key.startsWith('rejected') && n > 0;
      return html`<div class="stat-card${bad ? ' tone-warn' : ''}" data-key="${key}">
        <div class="stat-label">${label}</div>
        <div class="stat-value">${formatNumber(n)}</div>
        <div class="stat-detail">${formatNumber(n / minutes)} / min · ${detail}</div>
      </div>`;
    })}`,
  );
  const rej = [...s.rejectedByReason].sort((a, b) => b.count - a.count);
  setHtml(
    byId('stats-rejections'),
    rej.length
      ? html`<table class="table">
          <thead>
            <tr>
              <th>Reason</th>
              <th>Scope</th>
              <th class="num">Count</th>
            </tr>
          </thead>
          <tbody>
            ${rej.map(
              (r) =>
                html`<tr>
                  <td class="mono">${r.reason}</td>
                  <td>${r.scope}</td>
                  <td class="num">${formatNumber(r.count)}</td>
                </tr>`,
            )}
          </tbody>
        </table>`
      : html`<div class="chart-empty ok-text">Nothing rejected in this window.</div>`,
  );
  setHtml(
    byId('stats-devices'),
    s.devices.length
      ? html`<table class="table table-cards">
          <thead>
            <tr>
              <th>Device</th>
              <th class="num">Messages / min</th>
              <th class="num">Stored / min</th>
              <th class="num">Stored</th>
              <th class="num">Duplicates</th>
              <th class="num">Rejected</th>
              <th>Last traffic</th>
              <th></th>
            </tr>
          </thead>
          <tbody>
            ${s.devices.map(
              (d) =>
                html`<tr>
                  <td data-label="Device" class="c-title"><a href="${path`/devices/${d.deviceId}`}">${d.deviceId}</a></td>
                  <td data-label="Messages / min" class="num">${formatNumber(d.messagesPerMinute)}</td>
                  <td data-label="Stored / min" class="num">${formatNumber(d.storedReadingsPerMinute)}</td>
                  <td data-label="Stored" class="num">${formatNumber(d.storedReadings)}</td>
                  <td data-label="Duplicates" class="num">${formatNumber(d.duplicateReadings)}</td>
                  <td
                    data-label="Rejected"
                    class="num${d.rejectedReadings + d.rejectedMessages ? ' warn-text' : ''}"
                  >
                    ${formatNumber(d.rejectedReadings + d.rejectedMessages)}
                  </td>
                  <td data-label="Last traffic">${timeHtml(d.lastMinute)}</td>
                  <td data-label="" class="c-end"><a href="${path`/messages?device=${d.deviceId}`}">messages</a></td>
                </tr>`,
            )}
          </tbody>
        </table>`
      : html`<div class="chart-empty">No traffic in this window.</div>`,
  );
}

let windowMinutes = Number(new URLSearchParams(location.search).get('window')) || 60;

function paintWindow(): void {
  for (const b of document.querySelectorAll<HTMLButtonElement>('[data-window]')) {
    const on = Number(b.dataset.window) === windowMinutes;
    b.classList.toggle('active', on);
    b.setAttribute('aria-pressed', String(on));
  }
}

document.querySelector('.seg')?.addEventListener('click', (ev) => {
  const b = (ev.target as HTMLElement).closest<HTMLButtonElement>('[data-window]');
  if (!b) return;
  windowMinutes = Number(b.dataset.window);
  history.replaceState(null, '', windowMinutes === 60 ? '/stats' : `/stats?window=${windowMinutes}`);
  paintWindow();
  void load();
});

async function load(): Promise<void> {
  try {
    render(await api.get<Stats>('/api/stats', { windowMinutes }));
  } catch (err) {
    if (err instanceof ApiError && err.status === 0) return;
    setHtml(
      byId('stats-totals'),
      html`<div class="notice">
        Could not load statistics: ${String(err instanceof Error ? err.message : err)}
      </div>`,
    );
  }
}

paintWindow();
setInterval(() => {
  if (document.visibilityState === 'visible') void load();
}, 10_000);
void load();
