import { html, type SafeHtml } from '../pages/html.js';

/** Units are fixed per sensor name (docs/design.md#readings-and-seqs); unknown sensors are shown without one. */
export const SENSORS: Record<string, { label: string; unit: string; digits: number }> = {
  temperature: { label: 'Temperature', unit: '°C', digits: 1 },
  humidity: { label: 'Humidity', unit: '%RH', digits: 1 },
  pressure: { label: 'Pressure', unit: 'hPa', digits: 1 },
  heat_index: { label: 'Heat index', unit: '°C', digits: 1 },
  dew_point: { label: 'Dew point', unit: '°C', digits: 1 },
};
export const SENSOR_ORDER = Object.keys(SENSORS);

export function sensorLabel(name: string): string {
  return SENSORS[name]?.label ?? name;
}

export function sensorsInOrder(names: Iterable<string>): string[] {
  const set = new Set(names);
  const known = SENSOR_ORDER.filter((s) => set.has(s));
  const other = [...set].filter((s) => !SENSORS[s]).sort();
  return [...known, ...other];
}

export function formatValue(sensor: string, value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  const s = SENSORS[sensor];
  const n = value.toFixed(s?.digits ?? 2);
  return s ? `${n} ${s.unit}` : n;
}

export function formatNumber(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  return n.toLocaleString(undefined, { maximumFractionDigits: 2 });
}

/** 1000 → "1 s", 90 000 → "1.5 min", 7 200 000 → "2 h". */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  const units: [number, string][] = [
    [86_400_000, 'd'],
    [3_600_000, 'h'],
    [60_000, 'min'],
    [1000, 's'],
  ];
  for (const [size, unit] of units) {
    if (ms >= size) return `${+(ms / size).toFixed(ms % size === 0 ? 0 : 1)} ${unit}`;
  }
  return `${ms} ms`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

export type Tone = 'ok' | 'warn' | 'bad' | 'idle' | 'info';

export function badge(text: string, tone: Tone): SafeHtml {
  return html`<span class="badge badge-${tone}">${text}</span>`;
}

export function dot(tone: Tone, label: string): SafeHtml {
  return html`<span class="status"><span class="status-dot" data-status="${tone}"></span>${label}</span>`;
}

export const COMMAND_TONE: Record<string, Tone> = {
  pending: 'idle',
  sent: 'info',
  succeeded: 'ok',
  failed: 'bad',
  expired: 'warn',
};
