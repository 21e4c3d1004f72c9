import { Counter, Gauge, METRIC_PREFIX, type Registry } from '@sensorfleet/shared';
import { parseSysValue, SYS_METRICS } from './sys-topics.js';

/**
 * The latest `$SYS` values, exposed as Prometheus metrics. A metric appears only once the broker has sent
 * its topic: a series of zeros before the first `$SYS` round would be a made-up value.
 */
export class BrokerStats {
  private readonly values = new Map<string, number>();
  private lastUpdate = 0;

  /** `broker` labels every series with the broker it describes (host:port), as one exporter may be one of several. */
  constructor(registry: Registry, broker: string) {
    const labels = { broker };
    for (const [topic, m] of Object.entries(SYS_METRICS)) {
      const name = METRIC_PREFIX + m.name;
      // Labelled, so that before the first value there is no series at all (an unlabelled metric shows 0).
      // `collect` reads the latest value at scrape time; a counter has no `set`, so it is reset and
      // brought to the broker's total, which keeps its type `counter` for Prometheus.
      const values = this.values;
      if (m.kind === 'gauge') {
        new Gauge({
          name,
          help: m.help,
          labelNames: ['broker'],
          registers: [registry],
          collect() {
            const v = values.get(topic);
            if (v === undefined) this.reset();
            else this.set(labels, v);
          },
        });
      } else {
        new Counter({
          name,
          help: m.help,
          labelNames: ['broker'],
          registers: [registry],
          collect() {
            this.reset();
            const v = values.get(topic);
            if (v !== undefined && v >= 0) this.inc(labels, v);
          },
        });
      }
    }
  }

  /** Takes one `$SYS` message; returns whether it was one we export. */
  update(topic: string, payload: string, now = Date.now()): boolean {
    if (!(topic in SYS_METRICS)) return false;
    const v = parseSysValue(payload);
    if (v === undefined) return false;
    this.values.set(topic, v);
    this.lastUpdate = now;
    return true;
  }

  /** Milliseconds since the last exported `$SYS` value (Infinity before the first). */
  ageMs(now = Date.now()): number {
    return this.lastUpdate ? now - this.lastUpdate : Infinity;
  }
}
