import { html, path, type SafeHtml } from './html.js';

export const RANGES: [string, string][] = [
  ['1h', '1 h'],
  ['24h', '24 h'],
  ['7d', '7 d'],
  ['30d', '30 d'],
  ['custom', 'Custom'],
];

/**
 * /devices/{id}: reported state, history charts, commands and completeness. web/device.ts fills every
 * section from the API and /ws; the markup here is the frame, so a slow API never shows a blank page.
 */
export function deviceBody(deviceId: string, canCommand: boolean): SafeHtml {
  return html`<div class="page-head">
      <div>
        <a class="back" href="/">← Fleet</a>
        <h1 class="device-title">
          <span class="status-dot" id="dev-dot" data-status="unknown"></span
          ><span id="dev-name">${deviceId}</span>
        </h1>
        <p class="sub">
          <span id="dev-id" hidden><code>${deviceId}</code> · </span><span id="dev-status">…</span> · last seen
          <span id="dev-seen">—</span>
        </p>
      </div>
      <div class="head-actions">
        <a class="btn" href="${path`/messages?device=${deviceId}`}">Message log</a>
      </div>
    </div>
    <div class="notice" id="dev-missing" hidden>
      No device <code>${deviceId}</code> is known to the backend. Provision it with
      <code>npm run device -- add ${deviceId}</code>.
    </div>
    <section class="state-grid" id="state-cards" aria-label="Reported state"></section>

    <section class="card table-card device-alerts" id="device-alerts" aria-labelledby="device-alerts-h">
      <div class="section-head">
        <h2 id="device-alerts-h">Open alerts</h2>
        <a class="btn btn-sm" href="${path`/alerts?deviceId=${deviceId}&state=any`}">All alerts of this device</a>
      </div>
      <div class="form-error" id="device-alert-error" role="alert" hidden></div>
      <table class="table table-cards" id="device-alert-table">
        <thead>
          <tr>
            <th>Alert</th>
            <th>State</th>
            <th>Severity</th>
            <th>Since</th>
            <th class="num">Value</th>
            <th>Acknowledged</th>
          </tr>
        </thead>
        <tbody id="device-alert-rows">
          <tr class="row-placeholder">
            <td colspan="6"><span class="spinner"></span> Loading…</td>
          </tr>
        </tbody>
      </table>
    </section>

    <section class="card" id="history" aria-labelledby="history-h">
      <div class="section-head">
        <h2 id="history-h">History</h2>
        <div class="range-bar">
          <div class="seg" role="group" aria-label="Time range">
            ${RANGES.map(
              ([v, l]) => html`<button type="button" class="seg-btn" data-range="${v}">${l}</button>`,
            )}
          </div>
          <button type="button" class="btn btn-sm" id="zoom-reset" hidden>Reset zoom</button>
          <a class="btn btn-sm" id="csv-link" href="#" download>Download CSV</a>
        </div>
      </div>
      <form class="custom-range" id="custom-range" hidden>
        <label class="field"><span>From</span><input type="datetime-local" name="from" required /></label>
        <label class="field"><span>To</span><input type="datetime-local" name="to" required /></label>
        <button class="btn btn-sm" type="submit">Show</button>
      </form>
      <p class="range-info">
        <span id="range-text"></span> <span class="muted" id="resolution"></span>
        <span class="muted hint-zoom">Drag across a chart to zoom in.</span>
      </p>
      <div class="charts" id="charts">
        <div class="chart-empty"><span class="spinner"></span> Loading readings…</div>
      </div>
    </section>

    <section class="card" id="commands" aria-labelledby="commands-h">
      <div class="section-head"><h2 id="commands-h">Commands</h2></div>
      ${
        canCommand
          ? html`<div class="command-bar" id="command-bar">
                <button type="button" class="btn" data-command="start">Start</button>
                <button type="button" class="btn btn-danger" data-command="stop">Stop</button>
                <form class="interval-form" id="interval-form">
                  <label class="field"
                    ><span class="sr-only">Interval in seconds</span
                    ><input
                      type="number"
                      name="seconds"
                      min="0.1"
                      max="86400"
                      step="0.1"
                      value="1"
                      inputmode="decimal" /></label
                  ><span class="unit">s</span>
                  <button type="submit" class="btn">Set interval</button>
                </form>
                <button type="button" class="btn" data-command="ping">Ping</button>
                <button type="button" class="btn" data-command="status">Status</button>
              </div>
              <p class="hint">
                Commands wait for an offline device and are delivered when it reconnects (for 10 minutes).
              </p>`
          : html`<p class="hint">Your role can see commands but not send them (operators and admins can).</p>`
      }
      <div class="form-error" id="command-error" role="alert" hidden></div>
      <table class="table table-cards" id="command-table">
        <thead>
          <tr>
            <th>Command</th>
            <th>Status</th>
            <th>Sent by</th>
            <th>Created</th>
            <th>Delivered</th>
            <th>Completed</th>
            <th>Result</th>
          </tr>
        </thead>
        <tbody id="command-rows">
          <tr class="row-placeholder">
            <td colspan="7">Loading…</td>
          </tr>
        </tbody>
      </table>
    </section>

    <section class="card" id="completeness" aria-labelledby="completeness-h">
      <div class="section-head"><h2 id="completeness-h">Completeness</h2></div>
      <p class="hint">
        Per day: readings stored against the seqs the device issued, and every gap with its cause.
      </p>
      <div id="completeness-body">
        <div class="chart-empty"><span class="spinner"></span> Loading…</div>
      </div>
    </section>`;
}
