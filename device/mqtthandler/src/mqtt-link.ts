import { readFileSync } from 'node:fs';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { ReconnectBackoff, topicFilters, topics, type Logger } from '@sensorfleet/shared';

export interface MqttLinkOptions {
  /**
   * The broker, or several nodes of a broker cluster (a comma-separated `MQTT_URL`): after a lost
   * connection the next reconnect goes to the next one, so a dead node costs one reconnect.
   */
  url: string | readonly string[];
  deviceId: string;
  username?: string | undefined;
  password?: string | undefined;
  caFile?: string | undefined;
  certFile?: string | undefined;
  keyFile?: string | undefined;
  keepaliveS: number;
  /**
   * Clean MQTT session (default true). False on a RabbitMQ cluster with quorum session queues: there
   * the subscription queue of a clean session stays on the node the device first used, and while that
   * node is down the device can subscribe nowhere (README "Scaling out").
   */
  cleanSession?: boolean;
  reconnectMinMs: number;
  reconnectMaxMs: number;
  log: Logger;
  onConnect: () => Promise<void>;
  onDisconnect: () => void;
  /** `retained`: an old message the broker kept, delivered because we just subscribed. */
  onMessage: (topic: string, payload: Buffer, retained: boolean) => Promise<void>;
}

/** How long a stop waits for the broker to confirm the device's `online: false`. */
const STOP_CONFIRM_MS = 2000;

/**
 * The device's MQTT session: presence (retained `online`, `false` as last will), subscriptions to ack,
 * commands and the receivers' presence, and reconnects with exponential backoff + jitter (mqtt.js only
 * offers a fixed period). The client id is the device id, which is also its broker user name: the
 * broker's device listeners take the user name as client id anyway (`use_username_as_clientid`), so
 * no device can take over another's session, and logs on both sides name the same id.
 */
export class MqttLink {
  readonly name = 'mqtt-link';
  private client: MqttClient | undefined;
  private readonly backoff: ReconnectBackoff;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private everConnected = false;
  private readonly urls: readonly string[];
  private urlIndex = 0;
  private options: IClientOptions | undefined;

  constructor(private readonly opts: MqttLinkOptions) {
    this.backoff = new ReconnectBackoff(opts.reconnectMinMs, opts.reconnectMaxMs);
    this.urls = typeof opts.url === 'string' ? [opts.url] : opts.url;
    if (this.urls.length === 0) throw new Error('MqttLink needs a broker URL');
  }

  /** The broker URL in use (or tried next). */
  get url(): string {
    return this.urls[this.urlIndex % this.urls.length]!;
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  get reconnectAttempts(): number {
    return this.backoff.attempts;
  }

  async start(): Promise<void> {
    const { deviceId } = this.opts;
    const options: IClientOptions = {
      clientId: deviceId,
      clean: this.opts.cleanSession ?? true,
      keepalive: this.opts.keepaliveS,
      connectTimeout: 15_000,
      reconnectPeriod: 0, // we schedule reconnects ourselves (backoff with jitter)
      resubscribe: false,
      queueQoSZero: false,
      // mqtt-packet's number cache is 65,536 two-byte Buffers (~6 MB of heap, a tenth of the device's
      // memory budget) to save one tiny allocation per packet; a device sends a few packets per second.
      writeCache: false,
      username: this.opts.username,
      password: this.opts.password,
      will: { topic: topics.online(deviceId), payload: Buffer.from('false'), qos: 1, retain: true },
      ...(this.opts.caFile ? { ca: readFileSync(this.opts.caFile) } : {}),
      ...(this.opts.certFile ? { cert: readFileSync(this.opts.certFile) } : {}),
      ...(this.opts.keyFile ? { key: readFileSync(this.opts.keyFile) } : {}),
    };
    this.options = options;
    this.connectTo(this.url);
  }

  /** A client for `url` with this link's handlers (a new one per node: mqtt.js keeps its first URL). */
  private connectTo(url: string): void {
    const client = mqtt.connect(url, this.options!);
    this.client = client;
    client.on('connect', () => void this.handleConnect());
    client.on('close', () => this.handleClose());
    client.on('error', (err) => this.opts.log.warn({ err: err.message }, 'mqtt error'));
    client.on('message', (topic, payload, packet) => {
      this.opts
        .onMessage(topic, payload, packet.retain)
        .catch((err: unknown) => this.opts.log.error({ err, topic }, 'message handler failed'));
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    const client = this.client;
    if (!client) return;
    // A clean disconnect suppresses the will, so say we are going offline ourselves, but only wait for the
    // broker's word so long: a link that died unnoticed (a partition) would hold the stop until the
    // container is killed. Unconfirmed, the connection is dropped without a DISCONNECT and the will says it.
    const confirmed = client.connected && (await this.publishOffline(client));
    await client.endAsync(!confirmed).catch(() => {});
  }

  private async publishOffline(client: MqttClient): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const published = client
      .publishAsync(topics.online(this.opts.deviceId), 'false', { qos: 1, retain: true })
      .then(
        () => true,
        () => false,
      );
    const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), STOP_CONFIRM_MS)));
    try {
      return await Promise.race([published, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** `payload` is the serialised `{"v":1,"readings":[…]}` (serialised once by the forwarder). */
  publishTelemetry(payload: string): Promise<void> {
    return this.publish(topics.telemetry(this.opts.deviceId), payload, false);
  }

  async publish(topic: string, payload: string, retain: boolean): Promise<void> {
    const client = this.client;
    if (!client?.connected) throw new Error('not connected');
    await client.publishAsync(topic, payload, { qos: 1, retain });
  }

  private async handleConnect(): Promise<void> {
    const client = this.client!;
    const { deviceId, log } = this.opts;
    this.backoff.reset();
    log.info({ url: this.url, reconnect: this.everConnected }, 'connected to broker');
    this.everConnected = true;
    try {
      await client.subscribeAsync({
        [topics.ack(deviceId)]: { qos: 1 },
        [topics.commands(deviceId)]: { qos: 1 },
        [topicFilters.receiversOnline]: { qos: 1 },
      });
      await client.publishAsync(topics.online(deviceId), 'true', { qos: 1, retain: true });
      await this.opts.onConnect();
    } catch (err) {
      log.warn({ err }, 'session setup failed; reconnecting');
      client.stream?.destroy();
    }
  }

  private handleClose(): void {
    this.opts.onDisconnect();
    if (this.stopping) return;
    if (this.reconnectTimer) return;
    const delay = this.backoff.next();
    this.opts.log.warn(
      { delayMs: delay, attempt: this.backoff.attempts },
      'broker connection lost; reconnecting',
    );
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.stopping) return;
      if (this.urls.length === 1) {
        this.client?.reconnect();
        return;
      }
      // Another node: the one we lost may be down for good. Publishes still pending on the old client
      // fail now; the forwarder sends them again (it resends whatever was not acked).
      const old = this.client;
      old?.removeAllListeners();
      old?.on('error', () => undefined);
      old?.end(true);
      this.urlIndex++;
      this.connectTo(this.url);
    }, delay);
  }
}
