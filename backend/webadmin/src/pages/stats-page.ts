import { html, type SafeHtml } from './html.js';

const WINDOWS: [number, string][] = [
  [15, '15 min'],
  [60, '1 h'],
  [1440, '24 h'],
  [10080, '7 d'],
];

/** /stats: ingest rates and rejections (GET /api/stats), refreshed by web/stats.ts. */
export function statsBody(): SafeHtml {
  return html`<div class="page-head">
      <div>
        <h1>Ingest</h1>
        <p class="sub" id="stats-window">What the receivers took in over the last hour.</p>
      </div>
      <div class="head-actions"><span class="muted" id="stats-updated"></span>
    <div class="seg" role="group" aria-label="Window">${WINDOWS.map(
      ([m, l]) => html`<button type="button" class="seg-btn" data-window="${m}">${l}</button>`,
    )}</div>
  </div>
    </div>
    <section class="kpi-grid" id="stats-totals" aria-label="Totals"></section>
    <section class="card" aria-labelledby="rej-h">
      <div class="section-head">
        <h2 id="rej-h">Rejected, by reason</h2>
        <a class="btn btn-sm" href="/messages">Message log</a>
      </div>
      <div id="stats-rejections">
        <div class="chart-empty"><span class="spinner"></span> Loading…</div>
      </div>
    </section>
    <section class="card" aria-labelledby="dev-h">
      <div class="section-head"><h2 id="dev-h">Devices, busiest first</h2></div>
      <div id="stats-devices">
        <div class="chart-empty"><span class="spinner"></span> Loading…</div>
      </div>
    </section>`;
}
