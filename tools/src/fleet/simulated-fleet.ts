import { Redis } from 'ioredis';
import type { Logger } from '@sensorfleet/shared';
import { DeviceLink } from '@sensorfleet/mqtthandler/device-link';
import type { MqtthandlerMetrics } from '@sensorfleet/mqtthandler/mqtthandler-metrics';
import { VERSION } from '@sensorfleet/mqtthandler/version';
import { seedMeasuringState } from '@sensorfleet/sensor/measuring-seed';
import { SimulatedSource } from '@sensorfleet/sensor/sources/simulated-source';

export interface FleetDevice {
  id: string;
  /** Broker user name (a device's is its id); none for a broker that takes anonymous clients. */
  username?: string;
  password?: string;
}

export interface SimulatedFleetOptions {
  devices: FleetDevice[];
  /** The broker's device listener. */
  url: string;
  caFile?: string | undefined;
  redisUrl: string;
  /** Readings per device: one every intervalMs. */
  intervalMs: number;
  /** Longest a live reading waits to be batched; default the interval, 200 … 1000 ms. */
  batchMaxWaitMs?: number | undefined;
  log: Logger;
  /** Redis key prefix of a device's outbox and state; default `fleet:<id>:`. */
  keyPrefix?: (id: string) => string;
}

export interface FleetStats {
  devices: number;
  connected: number;
  /** Readings appended to the outboxes. */
  measured: number;
  /** Readings published (resends included). */
  sent: number;
  /** Readings the backend acknowledged (stored or rejected). */
  acked: number;
  /** Readings in the outboxes, not yet acknowledged. */
  backlog: number;
  appendErrors: number;
}

/**
 * Bounded outbox per simulated device: 10,000 readings is close to 3 h at 1 Hz, and keeps a fleet of
 * thousands against a backend that is down from filling the machine's memory.
 */
const OUTBOX_MAX_READINGS = 10_000;
/** Readings in all the given outboxes (streams). */
const SUM_XLEN = `
local n = 0
for _, key in ipairs(KEYS) do n = n + redis.call('XLEN', key) end
return n
`;

/** Connections opened per START_STEP_MS while starting, so a big fleet does not hit the broker at once. */
const START_BATCH = 100;
const START_STEP_MS = 100;

/**
 * Many simulated devices in one process, each made of the device's own modules: readings from the
 * sensor's SimulatedSource appended through the real OutboxStore script (own key prefix per device), and
 * the mqtthandler's DeviceLink (forwarder, ack matching, state reporter, commands, MQTT session with its
 * own broker account). Only the sensor's process shell is left out: a timer per device takes its place,
 * honouring the measuring state (the `stop` / `set_interval` commands) like the sensor does.
 */
export class SimulatedFleet {
  private readonly redis: Redis;
  private readonly subscriber: Redis;
  private readonly members: Member[] = [];
  private readonly totals = { measured: 0, sent: 0, acked: 0, appendErrors: 0 };
  private stopped = false;
  private lostRedis = false;

  constructor(private readonly opts: SimulatedFleetOptions) {
    // One connection serves every device: auto-pipelining writes the commands of one event-loop turn in one
    // go (a write per command was a fifth of the process's CPU with 1,000 devices).
    this.redis = new Redis(opts.redisUrl, {
      maxRetriesPerRequest: 2,
      lazyConnect: true,
      enableAutoPipelining: true,
    });
    this.subscriber = this.redis.duplicate();
    this.redis.on('error', (err) => opts.log.debug({ err }, 'redis connection error'));
    this.subscriber.on('error', (err) => opts.log.debug({ err }, 'redis subscriber error'));
  }

  async start(): Promise<void> {
    const { opts } = this;
    await this.redis.connect();
    await this.subscriber.connect();
    // Redis may have come back without its last writes: every device replays its outbox (as main.ts does).
    this.redis.on('close', () => (this.lostRedis = true));
    this.redis.on('ready', () => {
      if (!this.lostRedis) return;
      this.lostRedis = false;
      for (const m of this.members) {
        m.link.onStoreReconnected().catch((err: unknown) => opts.log.warn({ err }, 'replay failed'));
      }
    });
    const metrics = this.metrics();
    const batchMaxWaitMs = opts.batchMaxWaitMs ?? Math.min(1000, Math.max(200, opts.intervalMs));
    opts.devices.forEach((d, i) => {
      const keyPrefix = (opts.keyPrefix ?? ((id: string) => `fleet:${id}:`))(d.id);
      const log = opts.log.child({ device: d.id });
      const link = new DeviceLink({
        deviceId: d.id,
        redis: this.redis,
        keyPrefix,
        mqtt: {
          url: opts.url,
          username: d.username,
          password: d.password,
          caFile: opts.caFile,
          keepaliveS: 60,
          reconnectMinMs: 1000,
          reconnectMaxMs: 60_000,
        },
        batchMax: 100,
        batchMaxWaitMs,
        inflightMax: 2000,
        ackTimeoutMs: 30_000,
        statePublishIntervalMs: 60_000,
        // State changes are seen within 10 s rather than 2 s: 1000 devices cost Redis 3,000 commands/s less.
        stateCheckEveryMs: 10_000,
        measuringDefaults: { running: true, intervalMs: opts.intervalMs },
        version: `${VERSION}-fleet`,
        log,
        metrics,
      });
      const source = new SimulatedSource({ seed: i + 1, now: Date.now });
      // The sensor's first-boot seed: measuring is on unless a button or command has said otherwise.
      const seed = () => seedMeasuringState(this.redis, keyPrefix, true);
      this.members.push(new Member(d.id, link, source, seed, this.totals, log));
    });
    await this.subscriber.psubscribe('*:measuring:changed', '*:outbox:appended');
    const byChannel = new Map<string, Member>(
      this.members.map((m) => [m.link.measuring.keys.measuringChanged, m]),
    );
    // Each device's append hints, as the mqtthandler's AppendWatch has them (one connection for all here).
    const byAppendChannel = new Map<string, Member>(
      this.members.map((m) => [m.link.outbox.keys.outboxAppended, m]),
    );
    this.subscriber.on('pmessage', (_pattern, channel: string, message: string) => {
      const appended = byAppendChannel.get(channel);
      if (appended) return appended.link.forwarder.onAppended(Number(message));
      void byChannel.get(channel)?.refresh();
    });
    const hints = (on: boolean) => {
      for (const m of this.members) m.link.forwarder.setAppendHints(on);
    };
    this.subscriber.on('close', () => hints(false));
    this.subscriber.on('ready', () => hints(true));
    hints(true);

    for (let i = 0; i < this.members.length; i += START_BATCH) {
      if (this.stopped) return;
      await Promise.all(this.members.slice(i, i + START_BATCH).map((m) => m.start(opts.intervalMs)));
      if (i + START_BATCH < this.members.length) await new Promise((r) => setTimeout(r, START_STEP_MS));
    }
  }

  async stats(): Promise<FleetStats> {
    const keys = this.members.map((m) => m.link.outbox.keys.outbox);
    // One command summing every outbox (the status line and metrics ask every second): a pipeline of an
    // XLEN per device was a thousand commands a second.
    const backlog =
      this.redis.status === 'ready' && keys.length
        ? Number(await this.redis.eval(SUM_XLEN, keys.length, ...keys))
        : 0;
    return {
      devices: this.members.length,
      connected: this.members.filter((m) => m.link.link.connected).length,
      ...this.totals,
      backlog,
    };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.allSettled(this.members.map((m) => m.stop()));
    this.subscriber.disconnect();
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  /** The mqtthandler's metric hooks, summed over the fleet (Prometheus series per device would be 1000s). */
  private metrics(): MqtthandlerMetrics {
    const t = this.totals;
    return {
      forwarder: {
        published: (n) => (t.sent += n),
        acked: (stored, rejected) => (t.acked += stored + rejected),
        resends: () => {},
        seqConflicts: () => {},
        seqRollbacks: () => {},
        probeAnswered: () => {},
        probeRechecked: () => {},
      },
      commandHandled: () => {},
      outbox: () => {},
      connected: () => {},
    };
  }
}

/** One simulated device: its DeviceLink and the timer that measures for it. */
class Member {
  private timer: NodeJS.Timeout | undefined;
  private running = true;
  private intervalMs = 0;
  private active = false;

  constructor(
    readonly id: string,
    readonly link: DeviceLink,
    private readonly source: SimulatedSource,
    private readonly seed: () => Promise<void>,
    private readonly totals: { measured: number; appendErrors: number },
    private readonly log: Logger,
  ) {}

  async start(intervalMs: number): Promise<void> {
    this.active = true;
    await this.seed();
    await this.refresh(intervalMs);
    for (const c of this.link.components) await c.start();
  }

  async stop(): Promise<void> {
    this.active = false;
    if (this.timer) clearTimeout(this.timer);
    for (const c of [...this.link.components].reverse()) await c.stop().catch(() => {});
  }

  /** Re-reads the measuring state (after a command) and reschedules when the interval changed. */
  async refresh(fallbackMs = this.intervalMs): Promise<void> {
    const state = await this.link.measuring.get().catch(() => undefined);
    this.running = state?.running ?? this.running;
    const interval = state?.intervalMs ?? fallbackMs;
    if (interval !== this.intervalMs || !this.timer) {
      this.intervalMs = interval;
      if (this.timer) clearTimeout(this.timer);
      // A random phase spreads the fleet's readings over the interval instead of one burst per tick.
      this.schedule(Math.random() * interval);
    }
  }

  private schedule(delayMs: number): void {
    if (!this.active) return;
    this.timer = setTimeout(() => {
      const due = Date.now() + this.intervalMs;
      void this.measure().finally(() => this.schedule(Math.max(0, due - Date.now())));
    }, delayMs);
  }

  private async measure(): Promise<void> {
    if (!this.running) return;
    const values = await this.source.read();
    try {
      await this.link.outbox.append(new Date().toISOString(), values, {
        maxReadings: OUTBOX_MAX_READINGS,
        maxAgeMs: 0,
      });
      this.totals.measured++;
    } catch (err) {
      // Unlike the sensor, no in-memory queue: a simulated reading lost to a Redis outage is only counted.
      this.totals.appendErrors++;
      this.log.debug({ err }, 'append failed');
    }
  }
}
