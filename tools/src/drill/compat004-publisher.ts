import mqtt, { type MqttClient } from 'mqtt';

/**
 * A third-party device of source 004 (FULL format, timestamped samples, QoS 1): the receiver stores each
 * sample with its measurement time in ms as the seq, so a redelivery is stored once. Such devices never
 * resend, so what the broker PUBACKed is what must reach MariaDB.
 */
export class Compat004Publisher {
  /** Messages the broker PUBACKed; message i carries seq `base + i * stepMs`. */
  sent = 0;
  private running = false;
  private loop: Promise<void> | undefined;
  /** Whole seconds an hour in the past, so the timestamps never run ahead of real time. */
  readonly base = Math.floor(Date.now() / 1000) * 1000 - 3_600_000;
  readonly stepMs = 100;

  private constructor(
    readonly id: string,
    private readonly client: MqttClient,
  ) {}

  /** `brokerUrl` may list several brokers (comma-separated, a cluster's nodes): it moves on when one fails. */
  static async start(id: string, brokerUrl: string, password: string): Promise<Compat004Publisher> {
    const urls = brokerUrl.split(',').map((u) => new URL(u.trim()));
    const servers = urls.map((u) => ({ host: u.hostname, port: Number(u.port) }));
    const client = await mqtt.connectAsync(urls[0]!.href, {
      ...(servers.length > 1 ? { servers } : {}),
      clientId: id,
      username: id,
      password,
      clean: false,
      reconnectPeriod: 500,
    });
    client.on('error', () => {}); // the broker is stopped on purpose; mqtt.js reconnects
    return new Compat004Publisher(id, client);
  }

  /** The seq the receiver gives message `i`. */
  seqOf(i: number): number {
    return this.base + i * this.stepMs;
  }

  private payload(i: number): string {
    const timestamp = new Date(this.seqOf(i)).toISOString();
    return JSON.stringify({
      sensors: [
        { sensor_name: 'temperature', value: 20 + (i % 100) / 10, unit: '°C', timestamp },
        { sensor_name: 'pressure', value: 1000 + (i % 50), unit: 'hPa', timestamp },
      ],
      timestamp,
    });
  }

  /**
   * Publishes about `perSecond` messages, one at a time: the next waits for the broker's PUBACK (while
   * the broker is away it waits, as a device that keeps its unsent sample would).
   */
  run(perSecond: number): void {
    if (this.running) return;
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        const next = Date.now() + 1000 / perSecond;
        try {
          await this.client.publishAsync(`devices/${this.id}/data`, this.payload(this.sent), { qos: 1 });
          this.sent++;
        } catch {
          await new Promise((r) => setTimeout(r, 200));
        }
        const ahead = next - Date.now();
        if (ahead > 0) await new Promise((r) => setTimeout(r, ahead));
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  async close(): Promise<void> {
    await this.stop();
    await this.client.endAsync(true).catch(() => undefined);
  }
}
