import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { httpGet } from '../harness/node-service.js';

/**
 * The event-loop delay p99 of a service's last scrape interval, from prom-client's default metric
 * (`<prefix>nodejs_eventloop_lag_p99_seconds`, built on monitorEventLoopDelay and reset at every
 * scrape); undefined when the exposition has none.
 */
export function eventLoopLagP99Seconds(exposition: string): number | undefined {
  const line = exposition
    .split('\n')
    .find((l) => !l.startsWith('#') && /nodejs_eventloop_lag_p99_seconds[{ ]/.test(l));
  if (!line) return undefined;
  const v = Number(line.slice(line.lastIndexOf(' ') + 1));
  return Number.isFinite(v) ? v : undefined;
}

export interface EventLoopLagFigure {
  /** Scrapes that gave a value. */
  samples: number;
  /** Median and highest of the per-interval p99s, ms. */
  p99_median_ms: number | null;
  p99_max_ms: number | null;
}

function figure(p99s: number[]): EventLoopLagFigure {
  const sorted = [...p99s].sort((a, b) => a - b);
  const ms = (s: number | undefined) => (s === undefined ? null : Number((s * 1000).toFixed(1)));
  return {
    samples: sorted.length,
    p99_median_ms: ms(sorted[Math.floor((sorted.length - 1) / 2)]),
    p99_max_ms: ms(sorted[sorted.length - 1]),
  };
}

/**
 * Scrapes the `/metrics` of named services every `intervalMs` for their event-loop delay p99, and
 * measures this process's own with monitorEventLoopDelay (`bench`: the web clients and the broker tap run
 * here, so a late loop here makes their arrival times late too).
 */
export class EventLoopLagScraper {
  private timer: NodeJS.Timeout | undefined;
  private readonly p99s = new Map<string, number[]>();
  private self: IntervalHistogram | undefined;
  private readonly selfP99s: number[] = [];

  constructor(
    private readonly metricsPorts: Record<string, number | undefined>,
    private readonly intervalMs = 1000,
  ) {}

  start(): void {
    this.self = monitorEventLoopDelay({ resolution: 10 });
    this.self.enable();
    this.timer = setInterval(() => void this.scrape(), this.intervalMs);
    this.timer.unref();
  }

  private async scrape(): Promise<void> {
    if (this.self) {
      this.selfP99s.push(this.self.percentile(99) / 1e9);
      this.self.reset();
    }
    await Promise.all(
      Object.entries(this.metricsPorts).map(async ([name, port]) => {
        if (port === undefined) return;
        const r = await httpGet(`http://127.0.0.1:${port}/metrics`, 2000).catch(() => undefined);
        const v = r ? eventLoopLagP99Seconds(r.body) : undefined;
        if (v === undefined) return;
        const list = this.p99s.get(name) ?? [];
        list.push(v);
        this.p99s.set(name, list);
      }),
    );
  }

  stop(): Record<string, EventLoopLagFigure> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.self?.disable();
    const out: Record<string, EventLoopLagFigure> = {};
    for (const name of Object.keys(this.metricsPorts)) out[name] = figure(this.p99s.get(name) ?? []);
    out['bench'] = figure(this.selfP99s);
    return out;
  }
}
