import { html, type SafeHtml } from './html.js';

export interface FleetQuery {
  search: string;
  online: string;
  sort: string;
  limit: string;
}

export const FLEET_SORTS: [string, string][] = [
  ['id', 'Device id'],
  ['name', 'Name'],
  ['lastSeen', 'Last seen'],
];

const option = (value: string, label: string, current: string) =>
  html`<option value="${value}" ${value === current ? html` selected` : ''}>${label}</option>`;

/**
 * / (fleet): the filter form and an empty table; web/fleet.ts fills one server-side page of rows from
 * GET /api/devices and keeps them live over /ws. The form also works as a plain GET form.
 */
export function fleetBody(q: FleetQuery): SafeHtml {
  return html`<div class="page-head">
      <div>
        <h1>Fleet</h1>
        <p class="sub" id="fleet-summary">Loading devices…</p>
      </div>
    </div>
    <form class="toolbar" id="fleet-filter" method="get" action="/" role="search">
      <label class="field field-grow"
        ><span class="sr-only">Search</span>
        <input
          type="search"
          name="search"
          value="${q.search}"
          placeholder="Search by id or name"
          autocomplete="off"
          spellcheck="false"
      /></label>
      <label class="field"
        ><span class="sr-only">Status</span>
        <select name="online">
          ${option('', 'All devices', q.online)}${option('true', 'Online', q.online)}${option('false', 'Offline', q.online)}
        </select></label
      >
      <label class="field"
        ><span class="sr-only">Sort by</span>
        <select name="sort">
          ${FLEET_SORTS.map(([v, l]) => option(v, `Sort: ${l}`, q.sort))}
        </select></label
      >
      <label class="field"
        ><span class="sr-only">Per page</span>
        <select name="limit">
          ${['25', '50', '100'].map((n) => option(n, `${n} per page`, q.limit))}
        </select></label
      >
      <noscript><button class="btn" type="submit">Apply</button></noscript>
    </form>
    <div class="card table-card">
      <table class="table table-cards" id="fleet-table">
        <thead>
          <tr>
            <th>Device</th>
            <th>Status</th>
            <th>Last seen</th>
            <th>Measuring</th>
            <th class="num">Interval</th>
            <th class="num">Backlog</th>
            <th>Sensor</th>
            <th>Version</th>
            <th>Latest values</th>
          </tr>
        </thead>
        <tbody id="fleet-rows">
          <tr class="row-placeholder">
            <td colspan="9"><span class="spinner"></span> Loading devices…</td>
          </tr>
        </tbody>
      </table>
      <div class="empty" id="fleet-empty" hidden></div>
    </div>
    <nav class="pager" id="fleet-pager" aria-label="Pages" hidden>
      <button type="button" class="btn" id="page-prev" disabled>← Previous</button>
      <span class="pager-info" id="page-info"></span>
      <button type="button" class="btn" id="page-next" disabled>Next →</button>
    </nav>`;
}
