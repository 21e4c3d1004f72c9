/**
 * A minimal MQTT 3.1.1 client for load generation: plain TCP, clean sessions, QoS 1 publishes and
 * subscriptions, no reconnect, no offline queue, no stores. mqtt.js spends ~30 µs of CPU per small QoS 1
 * publish; the benchmark's simulated devices share the 2 cores with the system under test, so whatever the
 * devices burn is taken from what is measured. This client encodes each publish straight into an
 * output buffer and hands all packets of an event-loop turn to the socket in one write.
 */
import net from 'node:net';
import { MqttPacketReader, MqttProtocolError } from './mqtt-packet-reader.js';

export interface LeanConnectOptions {
  clientId: string;
  /** Seconds; 0 turns keepalive off. Default 60. */
  keepaliveS?: number;
  username?: string;
  password?: string;
  /** No CONNACK within this long → connect() rejects. Default 10 000 ms. */
  connectTimeoutMs?: number;
  /** Largest inbound packet accepted; larger ones close the connection. Default 1 MiB. */
  maxPacketSize?: number;
}

export type MessageHandler = (topic: string, payload: Buffer) => void;
/** `err` is undefined when the connection was closed by end() or destroy(). */
export type CloseHandler = (err: Error | undefined) => void;

const CONNECT = 1;
const CONNACK = 2;
const PUBLISH = 3;
const PUBACK = 4;
const SUBSCRIBE = 8;
const SUBACK = 9;
const PINGREQ = 12;
const PINGRESP = 13;
const DISCONNECT = 14;

/** Size of the output buffers; a larger packet gets a buffer of its own size. */
const OUT_CHUNK = 64 * 1024;

const PINGREQ_PACKET = Buffer.from([PINGREQ << 4, 0]);
const DISCONNECT_PACKET = Buffer.from([DISCONNECT << 4, 0]);

const CONNACK_REASONS: Record<number, string> = {
  1: 'unacceptable protocol version',
  2: 'client identifier rejected',
  3: 'server unavailable',
  4: 'bad user name or password',
  5: 'not authorized',
};

/** A topic as it goes on the wire: 2-byte big-endian length, then the UTF-8 bytes. */
export function encodeTopic(topic: string): Buffer {
  const len = Buffer.byteLength(topic);
  if (len > 0xffff) throw new RangeError(`topic of ${len} bytes is longer than MQTT allows (65535)`);
  const buf = Buffer.allocUnsafe(2 + len);
  buf.writeUInt16BE(len, 0);
  buf.write(topic, 2, 'utf8');
  return buf;
}

function varintSize(n: number): number {
  return n < 128 ? 1 : n < 16_384 ? 2 : n < 2_097_152 ? 3 : 4;
}

/** Writes an MQTT remaining length (7 bits per byte, low bits first) and returns the next offset. */
function writeVarint(buf: Buffer, offset: number, n: number): number {
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    buf[offset++] = byte;
  } while (n > 0);
  return offset;
}

/** A control packet from its first byte and body. */
function packet(first: number, body: Buffer): Buffer {
  const buf = Buffer.allocUnsafe(1 + varintSize(body.length) + body.length);
  buf[0] = first;
  body.copy(buf, writeVarint(buf, 1, body.length));
  return buf;
}

function lengthPrefixed(value: string | Buffer): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  const buf = Buffer.allocUnsafe(2 + bytes.length);
  buf.writeUInt16BE(bytes.length, 0);
  bytes.copy(buf, 2);
  return buf;
}

function connectPacket(opts: LeanConnectOptions, keepaliveS: number): Buffer {
  let flags = 0x02; // clean session
  const payload = [lengthPrefixed(opts.clientId)];
  if (opts.username !== undefined) {
    flags |= 0x80;
    payload.push(lengthPrefixed(opts.username));
  }
  if (opts.password !== undefined) {
    flags |= 0x40;
    payload.push(lengthPrefixed(opts.password));
  }
  const header = Buffer.from([0, 4, 0x4d, 0x51, 0x54, 0x54, 4, flags, keepaliveS >> 8, keepaliveS & 0xff]);
  return packet(CONNECT << 4, Buffer.concat([header, ...payload]));
}

function parseUrl(url: string): { host: string; port: number } {
  const u = new URL(url);
  if (u.protocol !== 'mqtt:' && u.protocol !== 'tcp:')
    throw new Error(`LeanMqttClient: only mqtt:// (plain TCP) is supported, got ${url}`);
  // URL keeps the brackets of an IPv6 literal; net.connect wants the bare address.
  return { host: u.hostname.replace(/^\[(.*)\]$/, '$1') || 'localhost', port: Number(u.port || 1883) };
}

interface PendingSubscribe {
  topics: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

export class LeanMqttClient {
  /** 1 = packet id in use by an unacknowledged PUBLISH or SUBSCRIBE. Index 0 is never used. */
  private readonly idInUse = new Uint8Array(65_536);
  private idsInUse = 0;
  private nextId = 1;
  private publishesInflight = 0;
  /** Publishes waiting for a free packet id (only when 65 535 are unacknowledged). */
  private readonly waiting: { topic: Buffer; payload: Buffer | string }[] = [];
  private readonly subscribes = new Map<number, PendingSubscribe>();
  private readonly reader: MqttPacketReader;
  /** Set until the CONNACK: the handshake's outcome. */
  private connack: { resolve: () => void; reject: (err: Error) => void } | undefined;
  private messageHandler: MessageHandler | undefined;
  private readonly closeHandlers: CloseHandler[] = [];
  /**
   * Outgoing bytes are appended here and written once per event-loop turn: [outStart, outEnd) is not
   * yet handed to the socket, everything before it is (and is never written to again).
   */
  private out = Buffer.allocUnsafeSlow(OUT_CHUNK);
  private outStart = 0;
  private outEnd = 0;
  private flushScheduled = false;
  private closed = false;
  /** end() or destroy() was called: the close that follows is not an error. */
  private closing = false;
  private closeError: Error | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private readonly flushAtTurnEnd = (): void => {
    this.flushScheduled = false;
    this.flush();
  };
  /** QoS 1 publishes that never got their PUBACK because the connection closed, and ones sent after. */
  failedPublishes = 0;

  private constructor(
    private readonly socket: net.Socket,
    readonly label: string,
    maxPacketSize: number,
  ) {
    this.reader = new MqttPacketReader(
      (type, flags, body) => this.onPacket(type, flags, body),
      maxPacketSize,
    );
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      try {
        this.reader.push(chunk);
      } catch (err) {
        // A protocol error, or a message handler that threw: either way the stream cannot go on.
        this.fail(err instanceof Error ? err : new Error(String(err)));
      }
    });
    socket.on('error', (err) => {
      if (!this.closeError && !this.closing)
        this.closeError = new Error(`${label}: ${err.message}`, { cause: err });
    });
    socket.on('close', () => this.onSocketClose());
  }

  /** Opens a TCP connection, sends CONNECT (clean session) and resolves once the broker accepts it. */
  static async connect(url: string, opts: LeanConnectOptions): Promise<LeanMqttClient> {
    const { host, port } = parseUrl(url);
    const keepaliveS = opts.keepaliveS ?? 60;
    const timeoutMs = opts.connectTimeoutMs ?? 10_000;
    const label = `MQTT ${host}:${port} (${opts.clientId})`;
    const client = new LeanMqttClient(net.connect({ host, port }), label, opts.maxPacketSize ?? 1 << 20);
    let timer: NodeJS.Timeout | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        client.connack = { resolve, reject };
        timer = setTimeout(() => client.fail(new Error(`no CONNACK within ${timeoutMs} ms`)), timeoutMs);
        client.socket.once('connect', () => client.write(connectPacket(opts, keepaliveS)));
      });
    } finally {
      clearTimeout(timer);
      client.connack = undefined;
    }
    if (keepaliveS > 0) {
      // Half the keepalive: the broker hears from us in time even when the timer fires late.
      client.pingTimer = setInterval(() => client.write(PINGREQ_PACKET), (keepaliveS * 1000) / 2);
      client.pingTimer.unref();
    }
    return client;
  }

  /** QoS 1 publishes written and not yet PUBACKed (including any waiting for a packet id). */
  get inflight(): number {
    return this.publishesInflight + this.waiting.length;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  onMessage(handler: MessageHandler): void {
    this.messageHandler = handler;
  }

  /** Called once when the connection is gone; at once if it already is. */
  onClose(handler: CloseHandler): void {
    if (this.closed) handler(this.closeError);
    else this.closeHandlers.push(handler);
  }

  /** One SUBSCRIBE for all `topics` (keep it to a few hundred); resolves on a SUBACK granting each. */
  subscribe(topics: readonly string[], qos: 0 | 1): Promise<void> {
    if (this.closed) return Promise.reject(this.closedError());
    if (topics.length === 0) return Promise.resolve();
    const id = this.takeId();
    if (id === 0) return Promise.reject(new Error(`${this.label}: no free packet id for SUBSCRIBE`));
    const parts: Buffer[] = [Buffer.from([id >> 8, id & 0xff])];
    for (const t of topics) parts.push(encodeTopic(t), Buffer.from([qos]));
    // SUBSCRIBE's fixed header flags are 0010 (MQTT 3.1.1 §3.8.1).
    const buf = packet((SUBSCRIBE << 4) | 0x02, Buffer.concat(parts));
    return new Promise((resolve, reject) => {
      this.subscribes.set(id, { topics: topics.length, resolve, reject });
      this.write(buf);
    });
  }

  /**
   * Sends a QoS 1 PUBLISH. `topic` is encodeTopic()'s output, so a caller that publishes to the same
   * topic many times encodes it once. Never throws for a closed connection: the publish counts in
   * failedPublishes instead, as a lost message would.
   */
  publishQos1(topic: Buffer, payload: Buffer | string): void {
    if (this.closed) {
      this.failedPublishes++;
      return;
    }
    // Behind any that wait, so that publishes leave in the order they were made.
    const id = this.waiting.length === 0 ? this.takeId() : 0;
    if (id === 0) {
      this.waiting.push({ topic, payload });
      return;
    }
    this.publishesInflight++;
    this.writePublish(id, topic, payload);
  }

  /** Sends DISCONNECT and resolves when the socket is closed. */
  end(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.closing = true;
      this.onClose(() => resolve());
      this.write(DISCONNECT_PACKET);
      this.flush();
      this.socket.end();
      // A broker that does not close its side must not hold the caller up.
      setTimeout(() => this.socket.destroy(), 2000).unref();
    });
  }

  destroy(): void {
    this.closing = true;
    this.socket.destroy();
  }

  private writePublish(id: number, topic: Buffer, payload: Buffer | string): void {
    const payloadLen = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
    const remaining = topic.length + 2 + payloadLen;
    const out = this.reserve(1 + varintSize(remaining) + remaining);
    let offset = this.outEnd;
    out[offset] = (PUBLISH << 4) | 0x02; // QoS 1, no DUP, no RETAIN
    offset = writeVarint(out, offset + 1, remaining);
    offset += topic.copy(out, offset);
    out[offset++] = id >> 8;
    out[offset++] = id & 0xff;
    offset += typeof payload === 'string' ? out.write(payload, offset, 'utf8') : payload.copy(out, offset);
    this.outEnd = offset;
  }

  private write(packet: Buffer): void {
    const out = this.reserve(packet.length);
    this.outEnd += packet.copy(out, this.outEnd);
  }

  /**
   * The output buffer with room for `size` more bytes at outEnd, and a flush once this turn of the event
   * loop has handled its I/O (setImmediate rather than nextTick: the PUBACKs and publishes that follow
   * several reads in one turn still share a write). A fleet publishes its whole burst synchronously: one
   * socket write per turn instead of one per packet saves the stream bookkeeping, a Buffer object per
   * packet and most syscalls.
   */
  private reserve(size: number): Buffer {
    if (this.outEnd + size > this.out.length) {
      this.flush();
      this.out = Buffer.allocUnsafeSlow(Math.max(OUT_CHUNK, size));
      this.outStart = this.outEnd = 0;
    }
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flushAtTurnEnd);
    }
    return this.out;
  }

  private flush(): void {
    if (this.outEnd === this.outStart || this.closed || this.socket.writableEnded) return;
    this.socket.write(this.out.subarray(this.outStart, this.outEnd));
    this.outStart = this.outEnd;
  }

  /** A packet id no unacknowledged packet uses, or 0 when all 65 535 are taken. */
  private takeId(): number {
    if (this.idsInUse >= 65_535) return 0;
    let id = this.nextId;
    while (this.idInUse[id]) id = id === 65_535 ? 1 : id + 1;
    this.nextId = id === 65_535 ? 1 : id + 1;
    this.idInUse[id] = 1;
    this.idsInUse++;
    return id;
  }

  private sendWaiting(): void {
    while (this.waiting.length > 0) {
      const id = this.takeId();
      if (id === 0) return;
      const next = this.waiting.shift()!;
      this.publishesInflight++;
      this.writePublish(id, next.topic, next.payload);
    }
  }

  private releaseId(id: number): boolean {
    if (!this.idInUse[id]) return false;
    this.idInUse[id] = 0;
    this.idsInUse--;
    return true;
  }

  private onPacket(type: number, flags: number, body: Buffer): void {
    if (this.connack) return this.onConnack(type, body);
    switch (type) {
      case PUBACK: {
        if (body.length !== 2) return this.fail(new MqttProtocolError('PUBACK of wrong length'));
        const id = body.readUInt16BE(0);
        // A PUBACK naming a SUBSCRIBE's id would be a broker bug; only publishes are released here.
        if (this.subscribes.has(id) || !this.releaseId(id)) return;
        this.publishesInflight--;
        if (this.waiting.length > 0) this.sendWaiting();
        return;
      }
      case PUBLISH:
        return this.onPublish(flags, body);
      case SUBACK:
        return this.onSuback(body);
      case PINGRESP:
        return;
      default:
        return this.fail(new MqttProtocolError(`unexpected packet type ${type}`));
    }
  }

  private onConnack(type: number, body: Buffer): void {
    if (type !== CONNACK || body.length !== 2)
      return this.fail(new MqttProtocolError(`expected CONNACK, got packet type ${type}`));
    const code = body[1]!;
    if (code !== 0)
      return this.fail(
        new Error(`connection refused: ${CONNACK_REASONS[code] ?? 'unknown reason'} (CONNACK ${code})`),
      );
    this.connack!.resolve();
    this.connack = undefined;
  }

  private onPublish(flags: number, body: Buffer): void {
    const qos = (flags >> 1) & 0x03;
    if (qos > 1) return this.fail(new MqttProtocolError(`unsupported inbound PUBLISH with QoS ${qos}`));
    if (body.length < 2) return this.fail(new MqttProtocolError('PUBLISH too short'));
    const topicEnd = 2 + body.readUInt16BE(0);
    const payloadStart = topicEnd + (qos ? 2 : 0);
    if (body.length < payloadStart) return this.fail(new MqttProtocolError('PUBLISH too short'));
    const topic = body.toString('utf8', 2, topicEnd);
    this.messageHandler?.(topic, body.subarray(payloadStart));
    if (qos === 1) this.write(Buffer.from([PUBACK << 4, 2, body[topicEnd]!, body[topicEnd + 1]!]));
  }

  private onSuback(body: Buffer): void {
    if (body.length < 3) return this.fail(new MqttProtocolError('SUBACK too short'));
    const id = body.readUInt16BE(0);
    const pending = this.subscribes.get(id);
    if (!pending) return;
    this.subscribes.delete(id);
    this.releaseId(id);
    if (this.waiting.length > 0) this.sendWaiting();
    const codes = body.subarray(2);
    if (codes.length !== pending.topics)
      pending.reject(
        new Error(`${this.label}: SUBACK has ${codes.length} codes for ${pending.topics} topics`),
      );
    else if (codes.includes(0x80))
      pending.reject(new Error(`${this.label}: subscription refused (SUBACK 0x80)`));
    else pending.resolve();
  }

  /** Closes the connection because of `err`, which becomes the close reason (unless one is already set). */
  private fail(err: Error): void {
    if (!this.closeError) this.closeError = new Error(`${this.label}: ${err.message}`, { cause: err });
    this.socket.destroy();
  }

  private closedError(): Error {
    return this.closeError ?? new Error(`${this.label}: connection closed`);
  }

  private onSocketClose(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.pingTimer);
    if (!this.closeError && !this.closing)
      this.closeError = new Error(
        `${this.label}: ${this.connack ? 'connection closed before CONNACK' : 'connection closed by the broker'}`,
      );
    this.connack?.reject(this.closedError());
    this.failedPublishes += this.publishesInflight + this.waiting.length;
    this.publishesInflight = 0;
    this.waiting.length = 0;
    const err = this.closedError();
    for (const pending of this.subscribes.values()) pending.reject(err);
    this.subscribes.clear();
    for (const handler of this.closeHandlers.splice(0)) handler(this.closeError);
  }
}
