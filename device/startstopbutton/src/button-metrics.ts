import { Counter, type Registry } from '@sensorfleet/shared/metrics';
import type { ButtonServiceStatus } from './button-service.js';

/** A Prometheus counter that follows a running total kept elsewhere (read when scraped). */
function followingCounter(registry: Registry, name: string, help: string, read: () => number): void {
  let reported = 0;
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      const total = read();
      if (total > reported) this.inc(total - reported);
      reported = total;
    },
  });
}

/** The button's counters: presses seen, toggles applied, toggles that failed (Redis unreachable). */
export function registerButtonMetrics(registry: Registry, status: () => ButtonServiceStatus): void {
  followingCounter(
    registry,
    'sensorfleet_button_presses_total',
    'debounced button presses',
    () => status().presses,
  );
  followingCounter(
    registry,
    'sensorfleet_button_toggles_total',
    'measuring toggled by the button',
    () => status().toggles,
  );
  followingCounter(
    registry,
    'sensorfleet_button_toggle_errors_total',
    'presses whose toggle failed (Redis unreachable); the press was not applied',
    () => status().toggleErrors,
  );
}
