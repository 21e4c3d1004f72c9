import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { parseTopic, ReconnectBackoff, topicFilters, type Logger, type TopicKind } from '@sensorfleet/shared';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';

export type BrokerMessageHandler = (deviceId: string, payload: Buffer, retained: boolean) => void;

/** SUBACK return code of a refused subscription (MQTT 3.1.1). */
const SUBACK_FAILURE = 0x80;

/**
 * The web admin's broker session (account `webadmin`: reads `devices/#`, writes `devices/+/commands`).
 * Not a shared subscription: every replica sees every message, so each can feed its own WebSockets and
 * record results. Telemetry is taken at QoS 0 (live views want the newest, not every copy); online,
 * state and command results at QoS 1.
 *
 * On a broker cluster (`MQTT_URL` lists its nodes) a lost connection moves to the next node after a
 * backoff with jitter, and the subscriptions are made again there. Each connection is a clean session
 * under a NEW client id: RabbitMQ keeps a clean session's subscription queue on the node it was made
 * on, and a client id whose queue lives on a dead node cannot subscribe on any other node (`NOT_FOUND
 * - home node … is down`); a fresh id gets a fresh queue on the node it is on. Nothing is lost that
 * matters: a command result missed in the gap is asked for again by the publisher's resend (the device
 * answers a repeated id with its stored result), and pages are told to refetch (`onReconnect`).
 */
export class BrokerLink {
  readonly name = 'broker';
  private client: MqttClient | undefined;
  private readonly handlers = new Map<TopicKind, BrokerMessageHandler[]>();
  private readonly urls: readonly string[];
  private urlIndex = 0;
  private readonly backoff: ReconnectBackoff;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private everConnected = false;
  private subscribed = false;
  private readonly idBase = `sf-webadmin-${hostname().slice(0, 20)}-${randomBytes(4).toString('hex')}`;
  private connections = 0;

  constructor(
    private readonly opts: {
      /** One broker, or the nodes of a cluster in the order to try them. */
      url: string | readonly string[];
      username?: string | undefined;
      password?: string | undefined;
      caFile?: string | undefined;
      reconnectMinMs?: number;
      reconnectMaxMs?: number;
      keepaliveS?: number;
      log: Logger;
      /** Subscribed again after a lost connection: what was published meanwhile was not seen. */
      onReconnect?: () => void;
    },
  ) {
    this.urls = typeof opts.url === 'string' ? [opts.url] : opts.url;
    if (this.urls.length === 0) throw new Error('BrokerLink needs a broker URL');
    this.backoff = new ReconnectBackoff(opts.reconnectMinMs ?? 500, opts.reconnectMaxMs ?? 10_000);
  }

  /** Connected and subscribed: what the health check and the command publisher go by. */
  get connected(): boolean {
    return (this.client?.connected ?? false) && this.subscribed;
  }

  /** The broker URL in use (or tried next). */
  get url(): string {
    return this.urls[this.urlIndex % this.urls.length]!;
  }

  /** Registers a handler for one topic kind; call before start(). */
  on(kind: 'telemetry' | 'state' | 'online' | 'commandResult', handler: BrokerMessageHandler): void {
    const list = this.handlers.get(kind) ?? [];
    list.push(handler);
    this.handlers.set(kind, list);
  }

  async start(): Promise<void> {
    this.stopping = false;
    this.connect();
  }

  private options(): IClientOptions {
    this.connections++;
    return {
      clientId: `${this.idBase}-${this.connections}`,
      clean: true,
      keepalive: this.opts.keepaliveS ?? 30,
      reconnectPeriod: 0, // reconnects are ours: to the next node, with backoff
      resubscribe: false,
      connectTimeout: 10_000,
      username: this.opts.username,
      password: this.opts.password,
      ...(this.opts.caFile ? { ca: readFileSync(this.opts.caFile) } : {}),
    };
  }

  private connect(): void {
    const url = this.url;
    const client = mqtt.connect(url, this.options());
    this.client = client;
    this.subscribed = false;
    client.on('connect', () => void this.handleConnect(client, url));
    client.on('message', (topic, payload, packet) => {
      const parsed = parseTopic(topic);
      if (!parsed) return;
      for (const h of this.handlers.get(parsed.kind) ?? []) {
        try {
          h(parsed.deviceId, payload, packet.retain === true);
        } catch (err) {
          this.opts.log.error({ err, topic }, 'broker message handler failed');
        }
      }
    });
    client.on('close', () => this.handleClose(client));
    client.on('error', (err) => this.opts.log.warn({ err: err.message, url }, 'mqtt error'));
  }

  private async handleConnect(client: MqttClient, url: string): Promise<void> {
    try {
      const granted = await client.subscribeAsync({
        [topicFilters.telemetry]: { qos: 0 },
        [topicFilters.state]: { qos: 1 },
        [topicFilters.online]: { qos: 1 },
        [topicFilters.commandResult]: { qos: 1 },
      });
      const refused = granted.filter((g) => g.qos === SUBACK_FAILURE).map((g) => g.topic);
      if (refused.length) throw new Error(`subscription refused: ${refused.join(', ')}`);
    } catch (err) {
      // A node that takes the connection but not the subscriptions is no use: try the next one.
      this.opts.log.warn({ err, url }, 'subscribing failed; moving on');
      client.stream?.destroy();
      return;
    }
    if (client !== this.client) return;
    this.subscribed = true;
    this.backoff.reset();
    const reconnect = this.everConnected;
    this.everConnected = true;
    this.opts.log.info({ url, reconnect }, 'connected to broker and subscribed');
    if (reconnect) this.opts.onReconnect?.();
  }

  private handleClose(client: MqttClient): void {
    if (client !== this.client) return;
    this.subscribed = false;
    if (this.stopping || this.reconnectTimer) return;
    const delayMs = this.backoff.next();
    this.opts.log.warn({ url: this.url, delayMs, attempt: this.backoff.attempts }, 'broker connection lost');
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.stopping) return;
      // A new client for the next node (mqtt.js keeps the URL it was made with). Publishes still waiting
      // on the old one fail now: the command publisher leaves those commands pending.
      client.removeAllListeners();
      client.on('error', () => undefined);
      client.end(true);
      this.urlIndex++;
      this.connect();
    }, delayMs);
  }

  /** QoS 1 publish; resolves on PUBACK, rejects when the broker is not connected. */
  async publish(topic: string, payload: string): Promise<void> {
    const client = this.client;
    if (!client?.connected) throw new Error('broker connection is down');
    await client.publishAsync(topic, payload, { qos: 1 });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    await this.client?.endAsync().catch(() => undefined);
  }
}
