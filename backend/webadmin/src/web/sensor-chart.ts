import uPlot from 'uplot';
import { html } from '../pages/html.js';
import { setHtml } from './dom.js';
import { formatValue, SENSORS, sensorLabel } from './format.js';

export type Resolution = 'raw' | '1m' | '1h' | '1d';
export interface Point {
  t: string;
  avg: number;
  min: number;
  max: number;
  count: number;
}

const BUCKET_MS: Record<Resolution, number> = { raw: 0, '1m': 60_000, '1h': 3_600_000, '1d': 86_400_000 };
const COLORS: Record<string, string> = {
  temperature: '#e8590c',
  humidity: '#1c7ed6',
  pressure: '#7048e8',
  heat_index: '#c2255c',
  dew_point: '#0c8599',
};
const FALLBACK = ['#2f9e44', '#5c7cfa', '#f08c00', '#868e96'];

function colorOf(sensor: string, i: number): string {
  return COLORS[sensor] ?? FALLBACK[i % FALLBACK.length] ?? '#495057';
}

function alpha(hex: string, a: number): string {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${a})`;
}

/** Chart columns: x in seconds (uPlot's unit), then min, max, mean; null breaks the line at a gap. */
type Columns = [number[], (number | null)[], (number | null)[], (number | null)[]];

export interface ChartWindow {
  fromMs: number;
  toMs: number;
}

/**
 * One sensor's history: the mean as a line inside its min/max band, in the browser's time zone. Dragging
 * across the plot asks the page for that range (which refetches finer data); live readings are folded into
 * the last bucket of the current resolution, so the live edge looks like the history behind it.
 */
export class SensorChart {
  readonly el: HTMLElement;
  private readonly plotEl: HTMLElement;
  private readonly valueEl: HTMLElement;
  private readonly rangeEl: HTMLElement;
  private plot: uPlot | undefined;
  private points: Point[] = [];
  private resolution: Resolution = 'raw';
  private window: ChartWindow = { fromMs: 0, toMs: 0 };
  private redrawQueued = false;
  private readonly color: string;

  constructor(
    readonly sensor: string,
    index: number,
    private readonly onSelect: (w: ChartWindow) => void,
  ) {
    this.el = document.createElement('div');
    this.el.className = 'chart-card';
    this.el.dataset.sensor = sensor;
    const unit = SENSORS[sensor]?.unit ?? '';
    setHtml(
      this.el,
      html`<div class="chart-head">
          <div>
            <span class="chart-title">${sensorLabel(sensor)}</span>${
              unit ? html` <span class="muted">${unit}</span>` : ''
            }
          </div>
          <div class="chart-value">
            <span class="chart-latest">—</span><span class="chart-range muted"></span>
          </div>
        </div>
        <div class="chart-plot"></div>`,
    );
    this.plotEl = this.el.querySelector('.chart-plot') as HTMLElement;
    this.valueEl = this.el.querySelector('.chart-latest') as HTMLElement;
    this.rangeEl = this.el.querySelector('.chart-range') as HTMLElement;
    this.color = colorOf(sensor, index);
  }

  setData(points: Point[], resolution: Resolution, window: ChartWindow): void {
    this.points = points.slice();
    this.resolution = resolution;
    this.window = window;
    this.redraw();
  }

  /** Slides a live window forward without new data (time passes, old points leave). */
  setWindow(window: ChartWindow): void {
    this.window = window;
    const from = new Date(window.fromMs).toISOString();
    while (this.points.length && (this.points[0]?.t ?? '') < from) this.points.shift();
    this.queueRedraw();
  }

  addReading(tsMs: number, value: number): void {
    const bucket = BUCKET_MS[this.resolution];
    const start = bucket ? tsMs - (tsMs % bucket) : tsMs;
    const t = new Date(start).toISOString();
    const last = this.points[this.points.length - 1];
    if (bucket && last && last.t === t) {
      last.avg = (last.avg * last.count + value) / (last.count + 1);
      last.count++;
      last.min = Math.min(last.min, value);
      last.max = Math.max(last.max, value);
    } else if (!last || last.t < t) {
      this.points.push({ t, avg: value, min: value, max: value, count: 1 });
    } else {
      return; // older than what is shown: a replayed backlog, already in the history fetch
    }
    this.queueRedraw();
  }

  resize(): void {
    this.plot?.setSize(this.size());
  }

  destroy(): void {
    this.plot?.destroy();
    this.el.remove();
  }

  private queueRedraw(): void {
    if (this.redrawQueued) return;
    this.redrawQueued = true;
    requestAnimationFrame(() => {
      this.redrawQueued = false;
      this.redraw();
    });
  }

  private size(): { width: number; height: number } {
    const width = Math.max(240, this.plotEl.clientWidth || this.el.clientWidth - 32);
    return { width, height: width < 500 ? 180 : 220 };
  }

  private columns(): Columns {
    const xs: number[] = [];
    const mins: (number | null)[] = [];
    const maxs: (number | null)[] = [];
    const avgs: (number | null)[] = [];
    // A gap is a pause much longer than the usual spacing: break the line there instead of bridging it.
    const times = this.points.map((p) => Date.parse(p.t) / 1000);
    const deltas = times
      .slice(1)
      .map((t, i) => t - (times[i] ?? t))
      .sort((a, b) => a - b);
    const typical = deltas[Math.floor(deltas.length / 2)] ?? 0;
    const bucketS = BUCKET_MS[this.resolution] / 1000;
    const gap = Math.max(typical * 5, bucketS * 2.5);
    this.points.forEach((p, i) => {
      const x = times[i] ?? 0;
      const prev = times[i - 1];
      if (i > 0 && prev !== undefined && gap > 0 && x - prev > gap) {
        xs.push((x + prev) / 2);
        mins.push(null);
        maxs.push(null);
        avgs.push(null);
      }
      xs.push(x);
      mins.push(p.min);
      maxs.push(p.max);
      avgs.push(p.avg);
    });
    return [xs, mins, maxs, avgs];
  }

  private redraw(): void {
    const data = this.columns();
    this.el.dataset.points = String(this.points.length);
    this.el.dataset.resolution = this.resolution;
    const last = this.points[this.points.length - 1];
    this.valueEl.textContent = last ? formatValue(this.sensor, last.avg) : '—';
    if (this.points.length) {
      const lo = Math.min(...this.points.map((p) => p.min));
      const hi = Math.max(...this.points.map((p) => p.max));
      this.rangeEl.textContent = `${formatValue(this.sensor, lo)} – ${formatValue(this.sensor, hi)}`;
    } else this.rangeEl.textContent = '';
    this.el.classList.toggle('is-empty', this.points.length === 0);
    if (!this.plot) this.plot = new uPlot(this.options(), data, this.plotEl);
    else this.plot.setData(data);
  }

  private options(): uPlot.Options {
    const digits = SENSORS[this.sensor]?.digits ?? 2;
    const axis: uPlot.Axis = {
      stroke: '#6b7785',
      grid: { stroke: '#eef0f3', width: 1 },
      ticks: { stroke: '#e3e6ea', width: 1 },
      font: '11px system-ui, sans-serif',
    };
    return {
      ...this.size(),
      legend: { show: false },
      cursor: {
        drag: { x: true, y: false, setScale: false },
        sync: { key: 'device-history' },
        points: { size: 6, fill: this.color },
      },
      select: { show: true, left: 0, top: 0, width: 0, height: 0 },
      scales: {
        x: { time: true, range: () => [this.window.fromMs / 1000, this.window.toMs / 1000] },
        y: {
          range: (_u, min, max) => {
            if (min === null || max === null || !Number.isFinite(min)) return [0, 1];
            const pad = Math.max((max - min) * 0.1, Math.abs(max) * 0.002, 0.1);
            return [min - pad, max + pad];
          },
        },
      },
      axes: [
        { ...axis, space: 70 },
        { ...axis, size: 52, values: (_u, ticks) => ticks.map((v) => v.toFixed(digits)) },
      ],
      series: [
        {},
        { label: 'min', stroke: alpha(this.color, 0.35), width: 1, points: { show: false } },
        { label: 'max', stroke: alpha(this.color, 0.35), width: 1, points: { show: false } },
        { label: 'mean', stroke: this.color, width: 2, points: { show: false } },
      ],
      bands: [{ series: [2, 1], fill: alpha(this.color, 0.14) }],
      hooks: {
        setSelect: [
          (u) => {
            const { left, width } = u.select;
            if (width > 4) {
              const a = u.posToVal(left, 'x') * 1000;
              const b = u.posToVal(left + width, 'x') * 1000;
              this.onSelect({ fromMs: Math.floor(a), toMs: Math.ceil(b) });
            }
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
          },
        ],
      },
    };
  }
}
