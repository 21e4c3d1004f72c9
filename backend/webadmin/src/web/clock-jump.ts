import { formatDuration } from './format.js';

/** What the sensor reports about wall-clock steps (devices/{id}/state → sensor). */
export interface ClockJumpReport {
  clockJumps?: number;
  lastClockJump?: { at?: string; byMs?: number } | null;
}

/**
 * The device's clock was set while it measured: its readings' timestamps went back or leapt ahead
 * (their order is still the seq). Undefined when the device reported no jump. Plain text: callers put it
 * through the html template, which escapes it like everything else a device sends.
 */
export function clockJumpSummary(s: ClockJumpReport | undefined): string | undefined {
  const count = Number(s?.clockJumps);
  if (!Number.isInteger(count) || count <= 0) return undefined;
  const byMs = Number(s?.lastClockJump?.byMs);
  const times = count === 1 ? 'once' : `${count} times`;
  if (!Number.isFinite(byMs) || byMs === 0) return `clock jumped ${times}`;
  const direction = byMs < 0 ? 'back' : 'ahead';
  return `clock jumped ${times}, last ${direction} by ${formatDuration(Math.abs(byMs))}`;
}
