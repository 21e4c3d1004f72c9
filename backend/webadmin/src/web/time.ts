import { html, type SafeHtml } from '../pages/html.js';

/**
 * Times are shown in the browser's zone; the exact UTC instant is in the title (hover). Relative times
 * ("12 s ago") are repainted by a one-second ticker, so a page left open stays truthful.
 */
const dateTime = new Intl.DateTimeFormat(undefined, {
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
});
const dateTimeYear = new Intl.DateTimeFormat(undefined, {
  year: 'numeric',
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
});
const timeOnly = new Intl.DateTimeFormat(undefined, {
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
});

export function utcTitle(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : `${d.toISOString().replace('T', ' ').replace('Z', '')} UTC`;
}

export function formatLocal(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const now = new Date();
  if (now.toDateString() === d.toDateString()) return timeOnly.format(d);
  return now.getFullYear() === d.getFullYear() ? dateTime.format(d) : dateTimeYear.format(d);
}

export function ago(iso: string, now = Date.now()): string {
  const t = new Date(iso).getTime();
  if (Number.isNaN(t)) return '—';
  const s = Math.round((now - t) / 1000);
  if (s < 3) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}

/** <time> in local time, UTC on hover. Empty values render as a dash. */
export function timeHtml(iso: string | null | undefined): SafeHtml {
  if (!iso) return html`<span class="muted">—</span>`;
  return html`<time datetime="${iso}" title="${utcTitle(iso)}">${formatLocal(iso)}</time>`;
}

/** "12 s ago", kept current by the ticker; local time and UTC on hover. */
export function agoHtml(iso: string | null | undefined): SafeHtml {
  if (!iso) return html`<span class="muted">never</span>`;
  return html`<time datetime="${iso}" data-ago title="${formatLocal(iso)} · ${utcTitle(iso)}"
    >${ago(iso)}</time
  >`;
}

export function startAgoTicker(): void {
  setInterval(() => {
    const now = Date.now();
    for (const el of document.querySelectorAll<HTMLTimeElement>('time[data-ago]')) {
      const text = ago(el.dateTime, now);
      if (el.textContent !== text) el.textContent = text;
    }
  }, 1000);
}

/** Value for <input type="datetime-local"> (local wall time) from an ISO instant. */
export function toLocalInput(iso: string | number): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** ISO instant from a datetime-local value (read as the browser's local time). */
export function fromLocalInput(value: string): string | undefined {
  if (!value) return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}
