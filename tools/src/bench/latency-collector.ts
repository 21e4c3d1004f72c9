import { percentile } from './stats.js';

/** A time window of the system benchmark, `[fromMs, toMs)` on the machine's clock. */
export interface PhaseWindow {
  fromMs: number;
  toMs: number;
}

export interface LatencySummary {
  samples: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/**
 * Latency samples keyed by the time the reading was measured, summarised per window afterwards: the
 * windows (the drain's end) are only known once the run is over, and a reading measured during the drain
 * counts for the drain even when it arrives after it. No I/O: fed by the web clients and the database.
 */
export class LatencyCollector {
  private readonly measured: number[] = [];
  private readonly latency: number[] = [];

  get size(): number {
    return this.measured.length;
  }

  add(measuredMs: number, latencyMs: number): void {
    if (!Number.isFinite(measuredMs) || !Number.isFinite(latencyMs)) return;
    this.measured.push(measuredMs);
    this.latency.push(latencyMs);
  }

  /**
   * The window cut into `stepMs` slices by measurement time, one summary each: where in a phase the
   * slow readings were (a stall of a few seconds and a steady delay give the same p99).
   */
  timeline(window: PhaseWindow, stepMs: number): LatencySummary[] {
    const out: LatencySummary[] = [];
    for (let from = window.fromMs; from < window.toMs; from += stepMs) {
      out.push(this.summary({ fromMs: from, toMs: Math.min(from + stepMs, window.toMs) }));
    }
    return out;
  }

  summary(window: PhaseWindow): LatencySummary {
    const xs: number[] = [];
    for (let i = 0; i < this.measured.length; i++) {
      const t = this.measured[i]!;
      if (t >= window.fromMs && t < window.toMs) xs.push(this.latency[i]!);
    }
    return {
      samples: xs.length,
      p50Ms: percentile(xs, 50),
      p99Ms: percentile(xs, 99),
      maxMs: xs.length ? xs.reduce((m, x) => Math.max(m, x), -Infinity) : NaN,
    };
  }
}
