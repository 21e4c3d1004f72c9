import type { FleetStats } from './simulated-fleet.js';

/**
 * One status line: what is connected, how much was measured, sent and acknowledged, what waits in the
 * outboxes, and the ack rate since the previous line (the number that says whether the backend keeps up).
 */
export function formatFleetStatus(now: FleetStats, prev: FleetStats | undefined, elapsedMs: number): string {
  const perS = (n: number) => (elapsedMs > 0 ? (n * 1000) / elapsedMs : 0);
  const ackRate = prev ? perS(now.acked - prev.acked) : 0;
  const measureRate = prev ? perS(now.measured - prev.measured) : 0;
  const parts = [
    `connected ${now.connected}/${now.devices}`,
    `measured ${now.measured}`,
    `sent ${now.sent}`,
    `acked ${now.acked}`,
    `backlog ${now.backlog}`,
    `rate ${ackRate.toFixed(ackRate < 10 ? 1 : 0)}/s acked, ${measureRate.toFixed(measureRate < 10 ? 1 : 0)}/s measured`,
  ];
  if (now.appendErrors) parts.push(`append errors ${now.appendErrors}`);
  return parts.join('  ');
}

/**
 * Prints the status: in place (`\r`, every second) on a terminal, else one line every 10 s so a log file
 * stays readable.
 */
export class FleetStatusPrinter {
  private timer: NodeJS.Timeout | undefined;
  private prev: { stats: FleetStats; at: number } | undefined;
  private lastLength = 0;

  constructor(
    private readonly stats: () => Promise<FleetStats>,
    private readonly out: { write(text: string): unknown; isTTY?: boolean },
  ) {}

  start(): void {
    const tty = this.out.isTTY === true;
    this.timer = setInterval(() => void this.print(tty), tty ? 1000 : 10_000);
  }

  /** Stops and ends the in-place line, so what follows starts on a fresh line. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.out.isTTY && this.lastLength) this.out.write('\n');
  }

  private async print(tty: boolean): Promise<void> {
    const stats = await this.stats().catch(() => undefined);
    if (!stats) return;
    const at = Date.now();
    const line = formatFleetStatus(stats, this.prev?.stats, this.prev ? at - this.prev.at : 0);
    this.prev = { stats, at };
    if (tty) {
      this.out.write(`\r${line.padEnd(this.lastLength)}`);
      this.lastLength = line.length;
    } else {
      this.out.write(`[${new Date(at).toISOString()}] ${line}\n`);
    }
  }
}
