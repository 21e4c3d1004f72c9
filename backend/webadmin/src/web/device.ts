import { html, path } from '../pages/html.js';
import { ApiError, api, withQuery } from './api.js';
import { CommandPanel } from './command-panel.js';
import { renderCompleteness, type Completeness } from './completeness.js';
import { DeviceAlerts } from './device-alerts.js';
import { renderStateCards } from './device-state.js';
import { applyLive, type Device } from './devices.js';
import { byId, pageData, setHtml } from './dom.js';
import { SENSOR_ORDER, sensorsInOrder } from './format.js';
import { LiveConnection } from './live.js';
import { SensorChart, type ChartWindow, type Point, type Resolution } from './sensor-chart.js';
import { bootShell } from './shell.js';
import { agoHtml, formatLocal, fromLocalInput, toLocalInput, utcTitle } from './time.js';

bootShell();

const deviceId = pageData('device');
const SPANS: Record<string, number> = {
  '1h': 3_600_000,
  '24h': 86_400_000,
  '7d': 604_800_000,
  '30d': 2_592_000_000,
};
const RANGE_TEXT: Record<string, string> = {
  '1h': 'Last hour',
  '24h': 'Last 24 hours',
  '7d': 'Last 7 days',
  '30d': 'Last 30 days',
};
const RESOLUTION_TEXT: Record<Resolution, string> = {
  raw: '· every reading',
  '1m': '· 1-minute buckets: mean line, min–max band',
  '1h': '· 1-hour buckets: mean line, min–max band',
  '1d': '· 1-day buckets: mean line, min–max band',
};

const chartsEl = byId('charts');
const rangeText = byId('range-text');
const resolutionEl = byId('resolution');
const zoomReset = byId<HTMLButtonElement>('zoom-reset');
const csvLink = byId<HTMLAnchorElement>('csv-link');
const customForm = byId<HTMLFormElement>('custom-range');

let device: Device | undefined;
let charts = new Map<string, SensorChart>();

/** The shown range: a relative one that follows now (live), or fixed (custom, or zoomed into). */
const url = new URLSearchParams(location.search);
let range = SPANS[url.get('range') ?? ''] ? (url.get('range') as string) : '24h';
let fixed: ChartWindow | undefined;
let zoomedFrom: { range: string; fixed?: ChartWindow } | undefined;
{
  const from = Date.parse(url.get('from') ?? '');
  const to = Date.parse(url.get('to') ?? '');
  if (from < to) {
    range = 'custom';
    fixed = { fromMs: from, toMs: to };
  }
}

function currentWindow(): ChartWindow {
  if (fixed) return fixed;
  const now = Date.now();
  return { fromMs: now - (SPANS[range] ?? SPANS['24h']!), toMs: now };
}

const isLive = () => !fixed;

function paintRangeControls(): void {
  for (const b of document.querySelectorAll<HTMLButtonElement>('[data-range]')) {
    const on = b.dataset.range === (zoomedFrom ? '' : range);
    b.classList.toggle('active', on);
    b.setAttribute('aria-pressed', String(on));
  }
  customForm.hidden = range !== 'custom' || zoomedFrom !== undefined;
  zoomReset.hidden = !zoomedFrom;
  const w = currentWindow();
  if (fixed) {
    rangeText.textContent = `${formatLocal(new Date(w.fromMs).toISOString())} – ${formatLocal(new Date(w.toMs).toISOString())}`;
    rangeText.title = `${utcTitle(new Date(w.fromMs).toISOString())} – ${utcTitle(new Date(w.toMs).toISOString())}`;
  } else {
    rangeText.textContent = RANGE_TEXT[range] ?? '';
    rangeText.title = '';
  }
  const from = new Date(w.fromMs).toISOString();
  const to = new Date(w.toMs).toISOString();
  csvLink.href = withQuery(path`/api/devices/${deviceId}/readings.csv`, { from, to });
  csvLink.setAttribute('download', `${deviceId}-${from.slice(0, 16).replace(/:/g, '')}.csv`);
  const q = fixed ? { from, to } : range === '24h' ? {} : { range };
  history.replaceState(null, '', withQuery(location.pathname, q));
}

function sensorsOf(d: Device | undefined): string[] {
  const known = Object.keys(d?.latest ?? {});
  return known.length ? sensorsInOrder(known) : SENSOR_ORDER;
}

function ensureCharts(sensors: string[]): void {
  const same = sensors.length === charts.size && sensors.every((s) => charts.has(s));
  if (same) return;
  for (const c of charts.values()) c.destroy();
  charts = new Map();
  chartsEl.replaceChildren();
  sensors.forEach((s, i) => {
    const chart = new SensorChart(s, i, zoomTo);
    charts.set(s, chart);
    chartsEl.append(chart.el);
  });
}

let loadSeq = 0;
async function loadReadings(): Promise<void> {
  const mine = ++loadSeq;
  paintRangeControls();
  const sensors = sensorsOf(device);
  const w = currentWindow();
  const from = new Date(w.fromMs).toISOString();
  const to = new Date(w.toMs).toISOString();
  chartsEl.classList.add('is-loading');
  try {
    const results = await Promise.all(
      sensors.map((sensor) =>
        api.get<{ resolution: Resolution; points: Point[] }>(path`/api/devices/${deviceId}/readings`, {
          sensor,
          from,
          to,
          // 1,440 one-minute buckets make a day; finer than that a chart cannot show anyway.
          maxPoints: 1500,
        }),
      ),
    );
    if (mine !== loadSeq) return;
    ensureCharts(sensors);
    const resolutions = new Set<Resolution>();
    results.forEach((r, i) => {
      const chart = charts.get(sensors[i] ?? '');
      chart?.setData(r.points, r.resolution, w);
      if (r.points.length) resolutions.add(r.resolution);
    });
    const res = [...resolutions][0];
    resolutionEl.textContent = res ? RESOLUTION_TEXT[res] : '';
    const empty = results.every((r) => r.points.length === 0);
    chartsEl.classList.toggle('all-empty', empty);
    document.getElementById('charts-empty')?.remove();
    if (empty) {
      const note = document.createElement('div');
      note.id = 'charts-empty';
      note.className = 'chart-empty';
      setHtml(
        note,
        html`No readings in this range.
        ${isLive() ? 'New readings appear here as they arrive.' : 'Pick another range.'}`,
      );
      chartsEl.prepend(note);
    }
  } catch (err) {
    if (mine !== loadSeq || (err instanceof ApiError && err.status === 0)) return;
    setHtml(
      chartsEl,
      html`<div class="chart-empty error-text">
        Could not load readings: ${String(err instanceof Error ? err.message : err)}
      </div>`,
    );
    charts = new Map();
  } finally {
    if (mine === loadSeq) chartsEl.classList.remove('is-loading');
  }
}

function zoomTo(w: ChartWindow): void {
  if (w.toMs - w.fromMs < 10_000) return; // a click, not a drag
  zoomedFrom ??= { range, fixed };
  fixed = w;
  void loadReadings();
}

zoomReset.addEventListener('click', () => {
  if (!zoomedFrom) return;
  range = zoomedFrom.range;
  fixed = zoomedFrom.fixed;
  zoomedFrom = undefined;
  void loadReadings();
});

document.querySelector('.seg')?.addEventListener('click', (ev) => {
  const b = (ev.target as HTMLElement).closest<HTMLButtonElement>('[data-range]');
  const r = b?.dataset.range;
  if (!r) return;
  zoomedFrom = undefined;
  if (r === 'custom') {
    const w = currentWindow();
    range = 'custom';
    fixed = w;
    (customForm.elements.namedItem('from') as HTMLInputElement).value = toLocalInput(w.fromMs);
    (customForm.elements.namedItem('to') as HTMLInputElement).value = toLocalInput(w.toMs);
    paintRangeControls();
    return;
  }
  range = r;
  fixed = undefined;
  void loadReadings();
});

customForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const data = new FormData(customForm);
  const from = fromLocalInput(String(data.get('from') ?? ''));
  const to = fromLocalInput(String(data.get('to') ?? ''));
  if (!from || !to || from >= to) return;
  fixed = { fromMs: Date.parse(from), toMs: Date.parse(to) };
  void loadReadings();
});

function paintHeader(): void {
  if (!device) return;
  byId('dev-name').textContent = device.name || device.id;
  byId('dev-id').hidden = !device.name;
  document.title = `${device.name || device.id} · sensorfleet`;
  const dot = byId('dev-dot');
  dot.dataset.status = device.online ? 'ok' : 'idle';
  byId('dev-status').textContent = device.online ? 'online' : 'offline';
  setHtml(byId('dev-seen'), agoHtml(device.lastSeen));
  renderStateCards(byId('state-cards'), device);
}

async function loadDevice(): Promise<boolean> {
  try {
    device = await api.get<Device>(path`/api/devices/${deviceId}`);
    byId('dev-missing').hidden = true;
    paintHeader();
    return true;
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) {
      byId('dev-missing').hidden = false;
      byId('dev-status').textContent = 'unknown';
      for (const id of ['device-alerts', 'history', 'commands', 'completeness']) byId(id).hidden = true;
    }
    return false;
  }
}

async function loadCompleteness(): Promise<void> {
  const el = byId('completeness-body');
  try {
    renderCompleteness(el, await api.get<Completeness>(path`/api/devices/${deviceId}/completeness`));
  } catch (err) {
    if (err instanceof ApiError && err.status === 0) return;
    setHtml(
      el,
      html`<div class="chart-empty">
        Completeness is not available: ${err instanceof Error ? err.message : String(err)}
      </div>`,
    );
  }
}

const commands = new CommandPanel(deviceId);
const alerts = new DeviceAlerts(deviceId, pageData('commands') === 'yes');

// Live: readings go into the charts (while the range follows now), state into the cards, commands into
// the history. Repaint of the header at most once per frame.
let headerQueued = false;
const live = new LiveConnection({
  subscribe: [deviceId],
  onMessage(msg) {
    if (msg.type === 'alert') return alerts.onLive(msg);
    if (msg.type === 'command') {
      const c = msg.command as { deviceId?: string } | undefined;
      if (c?.deviceId === deviceId) commands.onLive(msg);
      return;
    }
    // The server dropped messages for this page (it was too slow): what is shown may be stale.
    if (msg.type === 'dropped') return resync();
    if (msg.deviceId !== deviceId) return;
    if (!device || !applyLive(device, msg)) return;
    if (msg.type === 'reading' && isLive()) {
      const ts = Date.parse(String(msg.ts));
      for (const [sensor, value] of Object.entries((msg.values ?? {}) as Record<string, number>)) {
        charts.get(sensor)?.addReading(ts, value);
      }
    }
    if (!headerQueued) {
      headerQueued = true;
      requestAnimationFrame(() => {
        headerQueued = false;
        paintHeader();
      });
    }
  },
  onResync: () => resync(),
});

function resync(): void {
  void loadDevice().then(() => loadReadings());
  void commands.load();
  void alerts.load();
}

// The live window slides with the clock even when no reading arrives.
setInterval(() => {
  if (!isLive()) return;
  const w = currentWindow();
  for (const c of charts.values()) c.setWindow(w);
}, 5000);
new ResizeObserver(() => {
  for (const c of charts.values()) c.resize();
}).observe(chartsEl);
setInterval(() => void loadCompleteness(), 60_000);

paintRangeControls();
void loadDevice().then((ok) => {
  if (!ok) return;
  void loadReadings();
  void loadCompleteness();
  void alerts.load();
  commands.start();
  live.start();
});
