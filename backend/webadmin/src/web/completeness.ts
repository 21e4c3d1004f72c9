import { html, type SafeHtml } from '../pages/html.js';
import { setHtml } from './dom.js';
import { formatNumber } from './format.js';

export interface Gap {
  fromSeq: number;
  toSeq: number;
  count?: number;
  cause: string;
  reason?: string | null;
}

export interface CompletenessDay {
  day?: string;
  date?: string;
  issued: number;
  stored: number;
  gaps?: Gap[];
  [cause: string]: unknown;
}

/** Causes in the order an operator reads them: explained first, the alarming one last. */
const CAUSES: [string, string, string][] = [
  ['backlog', 'not yet delivered', 'info'],
  ['dropped', 'dropped by the outbox bound', 'warn'],
  ['power_loss', 'lost in a power cut', 'warn'],
  ['rejected', 'rejected', 'warn'],
  ['unexplained', 'unexplained', 'bad'],
];
const ALIASES: Record<string, string> = { lost: 'power_loss', pending: 'backlog', unknown: 'unexplained' };
const causeOf = (c: string) => ALIASES[c] ?? c;

function countOf(g: Gap): number {
  return g.count ?? g.toSeq - g.fromSeq + 1;
}

function byCause(d: CompletenessDay): Map<string, number> {
  const m = new Map<string, number>();
  for (const g of d.gaps ?? []) m.set(causeOf(g.cause), (m.get(causeOf(g.cause)) ?? 0) + countOf(g));
  return m;
}

/** A stacked bar as SVG attributes (no style attributes: the CSP forbids inline styles). */
function bar(d: CompletenessDay, causes: Map<string, number>): SafeHtml {
  const total = Math.max(1, d.issued);
  let x = 0;
  const parts: SafeHtml[] = [];
  const seg = (n: number, cls: string) => {
    const w = (n / total) * 100;
    if (w <= 0) return;
    parts.push(html`<rect x="${x.toFixed(3)}" width="${w.toFixed(3)}" height="8" class="${cls}"></rect>`);
    x += w;
  };
  seg(d.stored, 'seg-stored');
  for (const [key] of CAUSES) seg(causes.get(key) ?? 0, `seg-${key}`);
  return html`<svg class="bar" viewBox="0 0 100 8" preserveAspectRatio="none" aria-hidden="true">
    <rect width="100" height="8" class="seg-track"></rect>
    ${parts}
  </svg>`;
}

function gapList(gaps: Gap[]): SafeHtml {
  if (!gaps.length) return html`<span class="muted">none</span>`;
  const shown = gaps.slice(0, 6);
  return html`<ul class="gaps">
    ${shown.map((g) => {
      const label = CAUSES.find(([k]) => k === causeOf(g.cause))?.[1] ?? g.cause;
      const range = g.fromSeq === g.toSeq ? `seq ${g.fromSeq}` : `seq ${g.fromSeq}–${g.toSeq}`;
      return html`<li>
        <span class="mono">${range}</span>
        <span class="cause cause-${causeOf(g.cause)}">${label}${g.reason ? `: ${g.reason}` : ''}</span>
      </li>`;
    })}${gaps.length > shown.length ? html`<li class="muted">and ${gaps.length - shown.length} more</li>` : ''}
  </ul>`;
}

export function renderCompleteness(el: HTMLElement, days: CompletenessDay[]): void {
  if (!days.length) {
    setHtml(el, html`<div class="chart-empty">No readings issued by this device yet.</div>`);
    return;
  }
  const rows = days.map((d) => {
    const causes = byCause(d);
    const missing = Math.max(0, d.issued - d.stored);
    const pct = d.issued ? (d.stored / d.issued) * 100 : 100;
    const pctText = pct >= 99.995 ? '100 %' : `${pct.toFixed(pct > 99 ? 2 : 1)} %`;
    return html`<tr data-day="${d.day ?? d.date ?? ''}">
      <td data-label="Day" class="mono">${d.day ?? d.date ?? ''}</td>
      <td data-label="Issued" class="num">${formatNumber(d.issued)}</td>
      <td data-label="Stored" class="num">${formatNumber(d.stored)}</td>
      <td data-label="Complete" class="cell-bar">
        <span class="pct${missing ? '' : ' pct-full'}">${pctText}</span>${bar(d, causes)}
      </td>
      <td data-label="Missing">
        ${
          missing
            ? html`<span class="causes"
                >${CAUSES.filter(([k]) => causes.get(k)).map(
                  ([k, label]) =>
                    html`<span class="cause cause-${k}">${formatNumber(causes.get(k))} ${label}</span>`,
                )}</span
              >`
            : html`<span class="ok-text">nothing missing</span>`
        }
      </td>
      <td data-label="Gaps">${gapList(d.gaps ?? [])}</td>
    </tr>`;
  });
  setHtml(
    el,
    html`<table class="table table-cards completeness-table">
      <thead>
        <tr>
          <th>Day (UTC)</th>
          <th class="num">Seqs issued</th>
          <th class="num">Stored</th>
          <th>Complete</th>
          <th>Missing, by cause</th>
          <th>Gaps</th>
        </tr>
      </thead>
      <tbody>
        ${rows}
      </tbody>
    </table>`,
  );
}
