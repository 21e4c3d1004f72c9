import type { AlertList, AlertRuleList } from '@sensorfleet/shared/schemas/alerts';
import type { AlertRuleView, AlertView } from './alert-format.js';
import { OpenAlertList } from './alert-list.js';
import { ApiError, api } from './api.js';
import { byId } from './dom.js';

/**
 * The device page's "Open alerts" panel: that device's pending and firing alerts, live from the page's
 * /ws subscription (alert frames are routed by device like readings), acknowledge for operators.
 */
export class DeviceAlerts {
  private readonly rules = new Map<number, AlertRuleView>();
  private readonly list: OpenAlertList;

  constructor(
    private readonly deviceId: string,
    canAck: boolean,
  ) {
    const panel = byId('device-alerts');
    this.list = new OpenAlertList(byId('device-alert-rows'), {
      canAck,
      showDevice: false,
      columns: 6,
      emptyText: 'No open alerts for this device.',
      rule: (id) => this.rules.get(id),
      accept: (a) => a.deviceId === deviceId,
      onError: (message) => this.fail(message),
      onChange: (alerts) => {
        panel.classList.toggle(
          'has-firing',
          alerts.some((a) => a.state === 'firing'),
        );
      },
    });
  }

  async load(): Promise<void> {
    try {
      const [alerts, rules] = await Promise.all([
        api.get<AlertList>('/api/alerts', { deviceId: this.deviceId, state: 'open', limit: 100 }),
        // Only for the units of the values: the panel works without it.
        api.get<AlertRuleList>('/api/alert-rules').catch(() => ({ rules: [] })),
      ]);
      for (const r of rules.rules) this.rules.set(r.id, r);
      byId('device-alert-error').hidden = true;
      this.list.set(alerts.alerts);
    } catch (err) {
      if (err instanceof ApiError && err.status === 0) return;
      byId('device-alert-rows').replaceChildren();
      this.fail(`Alerts are not available: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private fail(message: string): void {
    const el = byId('device-alert-error');
    el.textContent = message;
    el.hidden = false;
  }

  onLive(msg: Record<string, unknown>): void {
    const a = msg.alert as AlertView | undefined;
    if (a && typeof a.id === 'number') this.list.apply(a);
  }
}
