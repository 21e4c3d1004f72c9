import { html, type SafeHtml } from '../pages/html.js';
import { setHtml } from './dom.js';
import { formatNumber } from './format.js';
import { timeHtml } from './time.js';

/** GET /api/devices/{id}/completeness (the server's Completeness schema). */
export interface Gap {
  fromSeq: number;
  toSeq: number;
  count: number;
  after?: string | null;
  before?: string | null;
  cause: 'backlog' | 'not_attributed' | string;
}
export interface CompletenessDay {
  day: string;
  stored: number;
  issued: number;
  missing: number;
  firstSeq?: number | null;
  lastSeq?: number | null;
  rejected?: Record<string, number>;
  gaps: Gap[];
}
export interface Completeness {
  device: {
    lastSeqIssued: number | null;
    lastSeqStored: number | null;
    backlog: number | null;
    oldestUnackedSeq: number | null;
    droppedByOutboxBound: number | null;
    lostInPowerCut: number | null;
    rejectedAsReported: number | null;
    seqConflicts: number | null;
    stateAt: string | null;
  };
  days: CompletenessDay[];
  accounting: {
    missing: number;
    backlog: number;
    explainedByDeviceCounts: number;
    unexplained: number;
    gapsTruncated: boolean;
  };
  notes?: string[];
}

const CAUSE_LABEL: Record<string, string> = {
  backlog: 'not yet delivered (in the device outbox)',
  not_attributed: 'missing (dropped, lost or rejected: see the device counts)',
};

/** A stacked bar as SVG attributes (no style attributes: the CSP forbids inline styles). */
function bar(d: CompletenessDay): SafeHtml {
  const total = Math.max(1, d.issued);
  const backlog = d.gaps.filter((g) => g.cause === 'backlog').reduce((n, g) => n + g.count, 0);
  const other = Math.max(0, d.missing - backlog);
  const parts: SafeHtml[] = [];
  let x = 0;
  for (const [n, cls] of [
    [d.stored, 'seg-stored'],
    [backlog, 'seg-backlog'],
    [other, 'seg-missing'],
  ] as const) {
    const w = (n / total) * 100;
    if (w <= 0) continue;
    parts.push(html`<rect x="${x.toFixed(3)}" width="${w.toFixed(3)}" height="8" class="${cls}"></rect>`);
    x += w;
  }
  return html`<svg class="bar" viewBox="0 0 100 8" preserveAspectRatio="none" aria-hidden="true"><rect width="100" height="8" class="seg-track"></rect>${parts}</svg>`;
}

function gapList(gaps: Gap[]): SafeHtml {
  if (!gaps.length) return html`<span class="muted">none</span>`;
  const shown = gaps.slice(0, 5);
  return html`<ul class="gaps">${shown.map((g) => {
    const range = g.fromSeq === g.toSeq ? `seq ${g.fromSeq}` : `seq ${g.fromSeq}–${g.toSeq}`;
    const when = g.after ?? g.before;
    return html`<li><span class="mono">${range}</span> <span class="cause cause-${g.cause}" title="${CAUSE_LABEL[g.cause] ?? g.cause}">${
      g.cause === 'backlog' ? 'not yet delivered' : 'missing'
    }</span>${when ? html` <span class="muted">after ${timeHtml(when)}</span>` : ''}</li>`;
  })}${gaps.length > shown.length ? html`<li class="muted">and ${gaps.length - shown.length} more</li>` : ''}</ul>`;
}

function verdict(c: Completeness): SafeHtml {
  const a = c.accounting;
  if (a.missing === 0 && a.backlog === 0) {
    return html`<div class="verdict verdict-ok"><strong>Complete.</strong> Every seq the device issued in this range is stored.</div>`;
  }
  if (a.unexplained === 0) {
    return html`<div class="verdict verdict-ok"><strong>Nothing else went missing.</strong> ${
      a.missing
        ? `${formatNumber(a.missing)} missing readings are all accounted for by the device's own counts`
        : ''
    }${a.missing && a.backlog ? '; ' : ''}${a.backlog ? `${formatNumber(a.backlog)} are still in the device outbox, waiting to be delivered` : ''}.</div>`;
  }
  return html`<div class="verdict verdict-bad"><strong>${formatNumber(a.unexplained)} readings missing that no counter explains.</strong> ${formatNumber(
    a.explainedByDeviceCounts,
  )} of ${formatNumber(a.missing)} missing are accounted for by drops, power cuts and rejections.</div>`;
}

function deviceCounts(c: Completeness): SafeHtml {
  const d = c.device;
  const counts: [string, number | null, string][] = [
    ['not yet delivered', d.backlog, 'tone-info'],
    ['dropped by the outbox bound', d.droppedByOutboxBound, 'tone-warn'],
    ['lost in a power cut', d.lostInPowerCut, 'tone-warn'],
    ['rejected by the backend', d.rejectedAsReported, 'tone-warn'],
    ['renumbered after a seq conflict', d.seqConflicts, ''],
  ];
  // Zeros are the normal case: one line says so instead of five "0"s.
  const nonZero = counts.filter(([, n]) => n);
  const list = nonZero.length
    ? html`<div class="counts">${nonZero.map(
        ([label, n, tone]) =>
          html`<div class="count ${tone}"><span class="count-n">${formatNumber(n)}</span><span class="count-label">${label}</span></div>`,
      )}</div>`
    : html`<p class="counts-none">The device reports no drops, power-cut losses, rejections or backlog.</p>`;
  return html`${list}<p class="hint">Device totals as last reported${d.stateAt ? html` (${timeHtml(d.stateAt)})` : ''}; last seq issued ${formatNumber(d.lastSeqIssued)}, last stored ${formatNumber(d.lastSeqStored)}.</p>`;
}

export function renderCompleteness(el: HTMLElement, c: Completeness): void {
  const days = [...c.days].sort((a, b) => b.day.localeCompare(a.day));
  const rows = days.map((d) => {
    const pct = d.issued ? (d.stored / d.issued) * 100 : 100;
    const pctText = d.missing === 0 ? '100 %' : `${Math.min(pct, 99.99).toFixed(pct > 99 ? 2 : 1)} %`;
    const rejected = Object.entries(d.rejected ?? {}).filter(([, n]) => n > 0);
    return html`<tr data-day="${d.day}">
<td data-label="Day" class="mono strong c-full">${d.day}</td>
<td data-label="Issued" class="num">${formatNumber(d.issued)}</td>
<td data-label="Stored" class="num">${formatNumber(d.stored)}</td>
<td data-label="Complete" class="cell-bar c-wide"><span class="pct${d.missing ? '' : ' pct-full'}">${pctText}</span>${bar(d)}</td>
<td data-label="Missing" class="num${d.missing ? ' warn-text' : ''}">${formatNumber(d.missing)}</td>
<td data-label="Rejected" class="c-wide${rejected.length ? '' : ' is-empty'}">${
      rejected.length
        ? html`<span class="causes">${rejected.map(([r, n]) => html`<span class="cause cause-rejected">${formatNumber(n)} <span class="mono">${r}</span></span>`)}</span>`
        : html`<span class="muted">none</span>`
    }</td>
<td data-label="Gaps" class="c-wide${d.gaps.length ? '' : ' is-empty'}">${gapList(d.gaps)}</td>
</tr>`;
  });
  setHtml(
    el,
    html`${verdict(c)}${deviceCounts(c)}${
      days.length
        ? html`<table class="table table-cards completeness-table"><thead><tr><th>Day (UTC)</th><th class="num">Seqs issued</th><th class="num">Stored</th><th>Complete</th><th class="num">Missing</th><th>Rejected</th><th>Gaps</th></tr></thead><tbody>${rows}</tbody></table>`
        : html`<div class="chart-empty">No readings from this device in the last 7 days.</div>`
    }${c.accounting.gapsTruncated ? html`<p class="hint">Only the first gaps are listed.</p>` : ''}${
      c.notes?.length
        ? html`<details class="notes"><summary>How these numbers are made</summary><ul>${c.notes.map((n) => html`<li>${n}</li>`)}</ul></details>`
        : ''
    }`,
  );
}
