import type { Logger } from '@sensorfleet/shared';
import type { CommandView } from '@sensorfleet/shared/schemas/webadmin-api';
import { commandView, type CommandStore } from '../commands/command-store.js';

/** A transaction may commit a little after the `updated_at` it wrote: read this far back every time. */
const OVERLAP_MS = 5000;

/**
 * Command status changes for this replica's sockets, whichever replica made them. Polling the
 * `commands_by_change` index once a second is one cheap range query per replica and sees every kind of
 * change (created, sent, answered, expired) from every replica. The broker would only carry some of them
 * (a result, the command itself) and nothing at all for an expiry or a change made while this replica was
 * reconnecting; the table is the truth, so the feed reads the table.
 */
export class CommandWatch {
  readonly name = 'command-watch';
  private timer: NodeJS.Timeout | undefined;
  private since: Date | undefined;
  /** `id status updated_at` of changes already passed on inside the overlap window. */
  private seen = new Map<string, number>();
  private running = false;

  constructor(
    private readonly deps: {
      store: CommandStore;
      intervalMs: number;
      log: Logger;
      onChange: (view: CommandView) => void;
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
      const from = new Date(this.since.getTime() - OVERLAP_MS);
      const rows = await this.deps.store.changedSince(from, 1000);
      let newest = this.since;
      for (const r of rows) {
        const key = `${r.id} ${r.status} ${r.updated_at.getTime()}`;
        if (r.updated_at > newest) newest = r.updated_at;
        if (this.seen.has(key)) continue;
        this.seen.set(key, r.updated_at.getTime());
        this.deps.onChange(commandView(r));
      }
      this.since = newest;
      const horizon = newest.getTime() - 2 * OVERLAP_MS;
      for (const [k, t] of this.seen) if (t < horizon) this.seen.delete(k);
    } catch (err) {
      this.deps.log.warn({ err }, 'reading command changes failed; trying again');
    } finally {
      this.running = false;
    }
  }
}
