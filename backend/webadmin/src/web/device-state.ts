import { html, type SafeHtml } from '../pages/html.js';
import { clockJumpSummary } from './clock-jump.js';
import type { Device } from './devices.js';
import { setHtml } from './dom.js';
import { badge, dot, formatDuration, formatNumber, type Tone } from './format.js';
import { ago, agoHtml, timeHtml } from './time.js';

function card(key: string, label: string, value: SafeHtml | string, detail: SafeHtml | string, tone?: Tone) {
  return html`<div class="stat-card${tone ? ` tone-${tone}` : ''}" data-key="${key}">
    <div class="stat-label">${label}</div>
    <div class="stat-value">${value}</div>
    <div class="stat-detail">${detail}</div>
  </div>`;
}

/**
 * What the device last reported (devices/{id}/state) where an operator looks first: is it up, is it
 * measuring, is anything waiting or lost, is the sensor healthy.
 */
export function renderStateCards(el: HTMLElement, d: Device): void {
  const s = d.state ?? {};
  const sensor = s.sensor;
  const backlog = s.backlog ?? 0;
  // A few readings are always in flight; a backlog is worth a colour once it is a minute old.
  const stuck = backlog > 0 && !!s.oldestUnackedTs && Date.now() - Date.parse(s.oldestUnackedTs) > 60_000;
  const lost = (s.dropped ?? 0) + (sensor?.redisLostAppends ?? 0);
  const clockJump = clockJumpSummary(sensor);
  const sensorTone: Tone = !sensor?.status
    ? 'idle'
    : sensor.status === 'ok'
      ? 'ok'
      : sensor.status === 'error'
        ? 'bad'
        : 'warn';
  setHtml(
    el,
    html`${card(
      'online',
      'Connection',
      d.online ? dot('ok', 'Online') : dot('idle', 'Offline'),
      html`last seen ${agoHtml(d.lastSeen)}`,
    )}${card(
      'running',
      'Measuring',
      s.running === undefined ? '—' : s.running ? badge('running', 'ok') : badge('stopped', 'warn'),
      s.intervalMs ? `every ${formatDuration(s.intervalMs)}` : '',
    )}${card(
      'backlog',
      'Backlog',
      formatNumber(s.backlog),
      backlog > 0 && s.oldestUnackedTs
        ? html`oldest unacked ${timeHtml(s.oldestUnackedTs)} (${ago(s.oldestUnackedTs)})`
        : 'nothing waiting to be delivered',
      stuck ? 'warn' : undefined,
    )}${card(
      'dropped',
      'Dropped / lost',
      formatNumber(lost),
      html`${formatNumber(s.dropped ?? 0)} by the outbox bound ·
      ${formatNumber(sensor?.redisLostAppends ?? 0)} in a power cut${
        s.dropsUnconfirmed
          ? html` · <span title="Dropped after they were sent; counted only if the backend lacks them"
                >${formatNumber(s.dropsUnconfirmed)} being checked</span
              >`
          : ''
      }`,
      lost > 0 ? 'bad' : undefined,
    )}${card(
      'sensor',
      'Sensor',
      sensor?.status ? badge(sensor.status, sensorTone) : '—',
      html`${[...new Set([sensor?.driver, sensor?.model].filter(Boolean))].join(' · ') || ''}${
        sensor?.errors ? html` · ${formatNumber(sensor.errors)} errors` : ''
      }${sensor?.lastError ? html`<span class="stat-error" title="${sensor.lastError}">${sensor.lastError}</span>` : ''}`,
      sensor?.status === 'error' ? 'bad' : undefined,
    )}${
      clockJump
        ? card(
            'clock',
            'Device clock',
            badge('jumped', 'warn'),
            // The card stays as short as its neighbours; what it means for the data is in the tooltip.
            html`<span title="Readings keep their seq order; their timestamps follow the device clock"
              >${clockJump}${
                sensor?.lastClockJump?.at ? html` · at ${timeHtml(sensor.lastClockJump.at)} device time` : ''
              }</span
            >`,
            'warn',
          )
        : ''
    }${card(
      'rejected',
      'Rejected',
      formatNumber(s.rejected ?? 0),
      `${formatNumber(s.seqConflicts ?? 0)} renumbered after a seq conflict`,
      (s.rejected ?? 0) > 0 ? 'warn' : undefined,
    )}${card(
      'version',
      'Version',
      html`<span class="mono">${s.version ?? '—'}</span>`,
      s.uptimeS !== undefined
        ? `up ${formatDuration(s.uptimeS * 1000)} · last seq ${formatNumber(s.lastSeq)}`
        : '',
    )}`,
  );
}
