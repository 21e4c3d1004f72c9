import path from 'node:path';
import { Redis } from 'ioredis';
import { deviceKeys, MeasuringStateStore, OutboxStore, type DeviceKeys } from '@sensorfleet/shared';
import { httpGet, NodeService, RedisServer } from '../harness/index.js';

export interface DrillDeviceOptions {
  id: string;
  /** Persistent dir of this device (its Redis data and service logs). */
  dir: string;
  password: string;
  /** The broker's device listener (client id = user name). */
  brokerUrl: string;
  appendfsync: 'always' | 'everysec';
  /** Its Redis under the power-cut shim: redisServer.powerCut() loses the AOF writes not yet fsynced. */
  powerCut?: boolean;
  intervalMs: number;
  logLevel: string;
  /** Extension point: a command prefix for the sensor and the mqtthandler (e.g. `ip netns exec ns1`). */
  wrap?: string[];
  /** Where the harness reaches the device's processes (with `wrap`: a namespace's nsAddress). */
  host?: string;
  /** Keep the mqtthandler's shipped keepalive, backoff and ack timeout (what users get). */
  shippedMqttDefaults?: boolean;
  /** Extra env of the sensor (e.g. LD_PRELOAD, OUTBOX_MAX_READINGS). */
  sensorEnv?: Record<string, string>;
  /** Extra env of the mqtthandler. */
  mqtthandlerEnv?: Record<string, string>;
}

/** What the device itself knows about its readings: its seq counter and the losses it counted. */
const NO_BOUND = { maxReadings: 0, maxAgeMs: 0 };

export interface DeviceCounters {
  lastSeq: number;
  backlog: number;
  oldestTs: string | undefined;
  oldestSeq: number | undefined;
  /** Dropped by the outbox bound (and by the sensor's memory queue), `<prefix>dropped`. */
  dropped: number;
  /**
   * Sent readings the bound dropped that wait for the backend's answer to a probe: not counted yet,
   * `<prefix>dropped:unconfirmed` (docs/design.md#outbox-drop-count).
   */
  dropsUnconfirmed: number;
  /** Appends Redis lost in a restart, as the sensor reported them (`redisLostAppends`). */
  redisLostAppends: number;
}

/**
 * One device as on a Pi: its own Redis from the shipped device/redis/redis.conf, the real sensor
 * (simulated driver) and the real mqtthandler with its own broker account. Every part can be killed -9
 * and restarted; data stays in `dir`.
 */
export class DrillDevice {
  readonly keys: DeviceKeys = deviceKeys();
  /**
   * How far the device's wall clock is off (drill 10 sets it back an hour): the drain check compares
   * its readings' timestamps with the device's time, not the host's.
   */
  clockOffsetMs = 0;
  private constructor(
    readonly id: string,
    readonly redisServer: RedisServer,
    readonly sensor: NodeService,
    readonly mqtthandler: NodeService,
    private readonly redis: Redis,
    private readonly outbox: OutboxStore,
  ) {}

  static async start(opts: DrillDeviceOptions): Promise<DrillDevice> {
    const wrap = {
      ...(opts.wrap ? { wrap: opts.wrap } : {}),
      ...(opts.host ? { host: opts.host } : {}),
    };
    const redisServer = await RedisServer.start({
      dir: path.join(opts.dir, 'redis'),
      appendfsync: opts.appendfsync,
      ...(opts.powerCut ? { powerCut: true } : {}),
      ...wrap,
    });
    // The device's own services reach its Redis on their loopback (inside a namespace: the namespace's).
    const device = { LOG_LEVEL: opts.logLevel, REDIS_URL: `redis://127.0.0.1:${redisServer.port}` };
    const mqtthandler = await NodeService.start('device/mqtthandler', {
      dir: path.join(opts.dir, 'mqtthandler'),
      label: `${opts.id}-mqtthandler`,
      ...wrap,
      env: {
        ...device,
        DEVICE_ID: opts.id,
        MQTT_URL: opts.brokerUrl,
        MQTT_USERNAME: opts.id,
        MQTT_PASSWORD: opts.password,
        // Short backoff and ack timeout keep the drills short; the delivery logic is the same.
        ...(opts.shippedMqttDefaults
          ? {}
          : { MQTT_RECONNECT_MIN_MS: '200', MQTT_RECONNECT_MAX_MS: '2000', MQTT_ACK_TIMEOUT_MS: '5000' }),
        STATE_PUBLISH_INTERVAL_MS: '2000',
        ...opts.mqtthandlerEnv,
      },
    });
    const sensor = await NodeService.start('device/sensor', {
      dir: path.join(opts.dir, 'sensor'),
      label: `${opts.id}-sensor`,
      ...wrap,
      env: {
        ...device,
        SENSOR_DRIVER: 'simulated',
        SENSOR_INTERVAL_MS: String(opts.intervalMs),
        SENSOR_SEED: String(opts.id.length + opts.id.charCodeAt(opts.id.length - 1)),
        ...opts.sensorEnv,
      },
    });
    const redis = new Redis(redisServer.url, { maxRetriesPerRequest: null });
    redis.on('error', () => {}); // drills kill this Redis on purpose; commands wait for it
    return new DrillDevice(opts.id, redisServer, sensor, mqtthandler, redis, new OutboxStore(redis));
  }

  async counters(): Promise<DeviceCounters> {
    const [stats, status] = await Promise.all([
      this.outbox.stats(),
      this.redis.hget(this.keys.sensorStatus, 'json'),
    ]);
    let lost = 0;
    try {
      lost = Number((JSON.parse(status ?? '{}') as { redisLostAppends?: number }).redisLostAppends ?? 0);
    } catch {
      lost = 0;
    }
    return {
      lastSeq: stats.lastSeq,
      backlog: stats.backlog,
      oldestTs: stats.oldestTs,
      oldestSeq: stats.oldestSeq,
      dropped: stats.dropped,
      dropsUnconfirmed: stats.dropsUnconfirmed,
      redisLostAppends: lost,
    };
  }

  /** A metric of the sensor process (its /metrics), e.g. `sensorfleet_readings_taken_total`. */
  async sensorMetric(name: string): Promise<number> {
    const { body } = await httpGet(`http://${this.sensor.host}:${this.sensor.port}/metrics`);
    const line = body.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
    return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : NaN;
  }

  /** Appends `n` readings to the outbox at once (valid ones, as the sensor writes them), unbounded. */
  async appendBacklog(n: number): Promise<void> {
    const start = Date.now() - n;
    for (let i = 0; i < n; i += 500) {
      const batch = Array.from({ length: Math.min(500, n - i) }, (_, k) =>
        this.outbox.append(
          new Date(start + i + k).toISOString(),
          { temperature: 20, humidity: 50 },
          NO_BOUND,
        ),
      );
      await Promise.all(batch);
    }
  }

  /** The mqtthandler's probe answers so far (sensorfleet_outbox_probed_drops_total, this process's life). */
  async probedDrops(): Promise<{ stored: number; unknown: number }> {
    const { body } = await httpGet(`http://127.0.0.1:${this.mqtthandler.port}/metrics`);
    const of = (answer: string) => {
      const line = body
        .split('\n')
        .find(
          (l) => l.startsWith('sensorfleet_outbox_probed_drops_total{') && l.includes(`answer="${answer}"`),
        );
      return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
    };
    return { stored: of('stored'), unknown: of('unknown') };
  }

  /** Measuring on / off through Redis, the way the device's button does it. */
  async setMeasuring(running: boolean): Promise<void> {
    await new MeasuringStateStore(this.redis, { running: true, intervalMs: 1000 }).setRunning(
      running,
      'local',
    );
  }

  /** The sensor's status as it keeps it in Redis (`clockJumps`, `lastClockJump`, …). */
  async sensorStatus(): Promise<Record<string, unknown>> {
    try {
      return JSON.parse((await this.redis.hget(this.keys.sensorStatus, 'json')) ?? '{}') as Record<
        string,
        unknown
      >;
    } catch {
      return {};
    }
  }

  /** Command results the device stored (id → result JSON): what it answers a repeated id with. */
  async commandResults(): Promise<Record<string, string>> {
    return this.redis.hgetall(this.keys.commandResults);
  }

  /** Every process of the device killed at once (a power cut without the power cut's page-cache loss). */
  async killAll(): Promise<void> {
    await Promise.all([this.sensor.kill(), this.mqtthandler.kill(), this.redisServer.kill()]);
  }

  /** Boot order as on balena: Redis first, then the services. */
  async boot(): Promise<void> {
    await this.redisServer.start();
    await Promise.all([this.mqtthandler.start(), this.sensor.start()]);
  }

  async stop(): Promise<void> {
    await Promise.allSettled([this.sensor.stop(), this.mqtthandler.stop()]);
    this.redis.disconnect();
    await this.redisServer.stop().catch(() => undefined);
  }
}
