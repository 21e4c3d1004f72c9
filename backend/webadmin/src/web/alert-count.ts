import type { AlertList, AlertSeverity } from '@sensorfleet/shared/schemas/alerts';
import { api } from './api.js';

/** Beyond this many the badge says "99+": the number of rows fetched for it stays small. */
const LIMIT = 99;

/** The firing count next to "Alerts" in the header, coloured by the worst severity firing. */
export function paintAlertCount(count: number, worst: AlertSeverity | undefined, more = false): void {
  const el = document.getElementById('nav-alert-count');
  if (!el) return;
  el.hidden = count === 0;
  el.textContent = more ? `${LIMIT}+` : String(count);
  el.dataset.severity = worst ?? '';
  el.title = `${count}${more ? '+' : ''} firing alert${count === 1 ? '' : 's'}`;
}

/** GET /api/alerts?state=firing: the API lists critical first, so the first alert is the worst. */
export async function refreshAlertCount(): Promise<void> {
  if (!document.getElementById('nav-alert-count')) return;
  try {
    const res = await api.get<AlertList>('/api/alerts', { state: 'firing', limit: LIMIT });
    paintAlertCount(res.alerts.length, res.alerts[0]?.severity, res.next !== null);
  } catch {
    // The badge is a hint; the page's own data decides whether the API is reachable.
  }
}

/**
 * Pages other than /alerts see no alert frames for the whole fleet, so the badge is looked at again now
 * and then (a minute is soon enough to notice; the alerts page paints it from its live list).
 */
export function startAlertCount(): void {
  void refreshAlertCount();
  setInterval(() => {
    if (document.visibilityState === 'visible' && document.body.dataset.page !== 'alerts')
      void refreshAlertCount();
  }, 60_000);
}
