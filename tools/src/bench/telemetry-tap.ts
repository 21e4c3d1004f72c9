import mqtt, { type MqttClient } from 'mqtt';
import { LatencyCollector } from './latency-collector.js';

export interface TelemetryTapOptions {
  /** The broker's backend listener. */
  url: string;
  username: string;
  password: string;
  /** Which devices' readings are timed (the live ones). */
  timed: (deviceId: string) => boolean;
  /** A device whose readings are also summarised apart (the real device, against the fleet simulator's). */
  apart?: string | undefined;
}

/**
 * A plain subscriber on `devices/+/telemetry`, beside the web admin's: latency measured → broker delivery
 * (arrival − reading ts), so that the browser figure can be split into what happens before the broker
 * (device batching, the fleet process) and what the web admin adds.
 */
export class TelemetryTap {
  readonly latencies = new LatencyCollector();
  /** The `apart` device's readings alone. */
  readonly apartLatencies = new LatencyCollector();
  private client: MqttClient | undefined;

  constructor(private readonly opts: TelemetryTapOptions) {}

  async start(): Promise<void> {
    const { opts } = this;
    const client = await mqtt.connectAsync(opts.url, {
      clientId: `sysbench-tap-${process.pid}`,
      username: opts.username,
      password: opts.password,
      clean: true,
      reconnectPeriod: 1000,
    });
    client.on('message', (topic, payload) => {
      const now = Date.now();
      const deviceId = topic.split('/')[1] ?? '';
      if (!opts.timed(deviceId)) return;
      let batch: { readings?: { ts?: unknown }[] };
      try {
        batch = JSON.parse(payload.toString('utf8')) as typeof batch;
      } catch {
        return;
      }
      for (const r of batch.readings ?? []) {
        if (typeof r.ts !== 'string') continue;
        const measured = Date.parse(r.ts);
        this.latencies.add(measured, now - measured);
        if (deviceId === opts.apart) this.apartLatencies.add(measured, now - measured);
      }
    });
    await client.subscribeAsync('devices/+/telemetry', { qos: 0 });
    this.client = client;
  }

  async stop(): Promise<void> {
    await this.client?.endAsync(true).catch(() => undefined);
    this.client = undefined;
  }
}
