import type { Logger } from '@sensorfleet/shared';
import type { AlertView } from '@sensorfleet/shared/schemas/alerts';
import { alertView, type AlertStore } from './alert-store.js';

/** A transaction may commit a little after the `updated_at` it wrote: read this far back every time. */
const OVERLAP_MS = 5000;

/**
 * Alert changes for this replica's sockets, whichever replica's evaluator (or ack) made them: one indexed
 * range query on `alerts.updated_at` per poll, as the command feed does. The table is the truth; an
 * evaluator on another replica has no other way to reach these sockets.
 */
export class AlertWatch {
  readonly name = 'alert-watch';
  private timer: NodeJS.Timeout | undefined;
  private since: Date | undefined;
  private seen = new Map<string, number>();
  private running = false;

  constructor(
    private readonly deps: {
      store: AlertStore;
      intervalMs: number;
      log: Logger;
      onChange: (view: AlertView) => void;
    },
  ) {}

  async start(): Promise<void> {
    this.since = await this.deps.store.now().catch(() => new Date());
    this.timer = setInterval(() => void this.poll(), this.deps.intervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
  }

  async poll(): Promise<void> {
    if (this.running || !this.since) return;
    this.running = true;
    try {
      const rows = await this.deps.store.changedSince(new Date(this.since.getTime() - OVERLAP_MS), 1000);
      let newest = this.since;
      for (const r of rows) {
        if (r.updated_at > newest) newest = r.updated_at;
        const view = alertView(r);
        // The whole view is the key: a change of value, state or ack is news, a re-read is not.
        const key = JSON.stringify(view);
        if (this.seen.has(key)) continue;
        this.seen.set(key, r.updated_at.getTime());
        this.deps.onChange(view);
      }
      this.since = newest;
      const horizon = newest.getTime() - 2 * OVERLAP_MS;
      for (const [k, t] of this.seen) if (t < horizon) this.seen.delete(k);
    } catch (err) {
      this.deps.log.warn({ err }, 'reading alert changes failed; trying again');
    } finally {
      this.running = false;
    }
  }
}
