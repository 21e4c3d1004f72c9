import { performance } from 'node:perf_hooks';
import type { Redis } from 'ioredis';
import {
  MeasuringStateStore,
  OutboxStore,
  parseReceiverOnline,
  parseTopic,
  topics,
  type Component,
  type Logger,
} from '@sensorfleet/shared';
import { CommandRouter } from './command-router.js';
import { Forwarder } from './forwarder.js';
import { MqttLink, type MqttLinkOptions } from './mqtt-link.js';
import type { MqtthandlerMetrics } from './mqtthandler-metrics.js';
import { RedisCommandResults } from './redis-command-results.js';
import { RedisForwarderStore } from './redis-forwarder-store.js';
import { collectState, StateReporter } from './state-reporter.js';
import { StateRevisions } from './state-revisions.js';

export interface DeviceLinkOptions {
  deviceId: string;
  /** A client of the device Redis; the caller connects and closes it (it may serve several links). */
  redis: Redis;
  keyPrefix?: string | undefined;
  mqtt: Omit<MqttLinkOptions, 'deviceId' | 'log' | 'onConnect' | 'onDisconnect' | 'onMessage'>;
  batchMax: number;
  batchMaxWaitMs: number;
  inflightMax: number;
  ackTimeoutMs: number;
  statePublishIntervalMs: number;
  /** Measuring state until the sensor (or a command) has written one. */
  measuringDefaults?: { running: boolean; intervalMs: number };
  /** How often the state is collected to see whether it changed (default 2 s). */
  stateCheckEveryMs?: number;
  version: string;
  log: Logger;
  metrics: MqtthandlerMetrics;
}

/**
 * Everything the mqtthandler does for one device — forwarder, state reporter, command router and the MQTT
 * session — over a Redis client it is given. main.ts runs one of these per process; the fleet simulator
 * (tools/src/fleet) runs many in one process, each on its own key prefix and broker account.
 */
export class DeviceLink {
  readonly outbox: OutboxStore;
  readonly store: RedisForwarderStore;
  readonly measuring: MeasuringStateStore;
  readonly forwarder: Forwarder;
  readonly reporter: StateReporter;
  readonly link: MqttLink;
  readonly revisions: StateRevisions;
  private readonly startedMonotonicMs = performance.now();

  constructor(opts: DeviceLinkOptions) {
    const { deviceId, redis, keyPrefix, log, metrics } = opts;
    this.outbox = new OutboxStore(redis, keyPrefix);
    this.revisions = new StateRevisions(redis, keyPrefix);
    this.store = new RedisForwarderStore(redis, this.outbox, keyPrefix);
    // Defaults only matter before the sensor has written any state; the sensor's own env decides them.
    this.measuring = new MeasuringStateStore(
      redis,
      opts.measuringDefaults ?? { running: true, intervalMs: 1000 },
      keyPrefix,
    );
    const collect = () =>
      collectState({
        outbox: this.outbox,
        measuring: this.measuring,
        redis,
        seqConflicts: () => this.store.seqConflicts(),
        version: opts.version,
        startedMonotonicMs: this.startedMonotonicMs,
      });
    const link: MqttLink = new MqttLink({
      ...opts.mqtt,
      deviceId,
      log: log.child({ module: 'mqtt' }),
      onConnect: async () => {
        metrics.connected(true);
        await this.forwarder.onConnected();
        await this.reporter.publishNow();
      },
      onDisconnect: () => {
        metrics.connected(false);
        this.forwarder.onDisconnected();
      },
      onMessage: async (topic, payload, retained): Promise<void> => {
        const receiver = parseReceiverOnline(topic);
        if (receiver !== undefined) {
          // Retained presence is old news: only a receiver coming online now may have missed our window.
          if (!retained && payload.toString() === 'true') this.forwarder.onReceiverOnline(receiver);
          return;
        }
        const parsed = parseTopic(topic);
        if (parsed?.deviceId !== deviceId) return;
        if (parsed.kind === 'ack') return this.forwarder.onAck(payload);
        if (parsed.kind === 'commands') {
          const result = await commands.handle(payload);
          metrics.commandHandled(result.ok);
          await link.publish(topics.commandResult(deviceId), JSON.stringify(result), false);
          if (result.ok) await this.reporter.publishNow();
        }
      },
    });
    this.link = link;
    this.forwarder = new Forwarder({
      store: this.store,
      link: {
        publishTelemetry: (payload): Promise<void> => link.publishTelemetry(payload),
        get connected() {
          return link.connected;
        },
      },
      log: log.child({ module: 'forwarder' }),
      metrics: metrics.forwarder,
      batchMax: opts.batchMax,
      batchMaxWaitMs: opts.batchMaxWaitMs,
      inflightMax: opts.inflightMax,
      ackTimeoutMs: opts.ackTimeoutMs,
    });
    this.reporter = new StateReporter({
      // The gauges follow every collection, not only publishes: the backlog matters most while offline.
      collect: async () => {
        const state = await collect();
        metrics.outbox(state);
        return state;
      },
      // The revision is taken at publish time, so that revisions follow the order of the publishes.
      publish: async (state) => {
        const rev = await this.revisions.next();
        await link.publish(topics.state(deviceId), JSON.stringify({ ...state, rev }), true);
      },
      connected: () => link.connected,
      intervalMs: opts.statePublishIntervalMs,
      ...(opts.stateCheckEveryMs ? { checkEveryMs: opts.stateCheckEveryMs } : {}),
      log: log.child({ module: 'state' }),
    });
    const commands = new CommandRouter({
      control: this.measuring,
      results: new RedisCommandResults(redis, keyPrefix),
      status: async () => ({ ...(await collect()) }),
      log: log.child({ module: 'commands' }),
    });
  }

  /** Start order: forwarder and reporter before the link, whose connect drives both. */
  get components(): Component[] {
    return [this.forwarder, this.reporter, this.link];
  }

  /** Redis came back after a lost connection: the outbox may have gone back, so replay it. */
  onStoreReconnected(): Promise<void> {
    if (!this.link.connected) return Promise.resolve(); // the next connect replays anyway
    return this.forwarder.onStoreReconnected();
  }
}
