import type { MeasuringStateStore, OutboxStore } from '@sensorfleet/shared';
import type { MeasuringControl } from './start-stop-button.js';

/**
 * The button's view of the device Redis: an atomic toggle (so a press racing a remote command cannot
 * cancel out wrongly; the sensor is notified on the measuring-changed channel) and, for the LED, whether
 * readings are waiting for the backend.
 */
export class RedisMeasuringControl implements MeasuringControl {
  constructor(
    private readonly state: MeasuringStateStore,
    private readonly outbox: OutboxStore,
  ) {}

  async toggle(source: 'button'): Promise<{ running: boolean }> {
    const { running } = await this.state.toggle(source);
    return { running };
  }

  async current(): Promise<{ running: boolean; backlog: number }> {
    const [state, stats] = await Promise.all([this.state.get(), this.outbox.stats()]);
    return { running: state.running, backlog: stats.backlog };
  }
}
