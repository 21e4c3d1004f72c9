import { performance } from 'node:perf_hooks';
import type { Logger } from '@sensorfleet/shared';
import type { AlertView } from '@sensorfleet/shared/schemas/alerts';
import type { CommandView, LiveMessage } from '@sensorfleet/shared/schemas/webadmin-api';
import { latestTsBound } from './latest-ts-bound.js';

/** What the hub needs of a socket (ws's WebSocket has it). */
export interface LiveSocket {
  /** A text frame: a string, or its UTF-8 bytes with `{binary: false}`. */
  send(data: string | Buffer, options: { binary: boolean }): void;
  close(code?: number, reason?: string): void;
  readonly readyState: number;
  /** Bytes queued but not yet written to the network: how far this client is behind. */
  readonly bufferedAmount: number;
}
type Socket = LiveSocket;

/**
 * The byte stream under a socket (the upgraded request's TCP socket): corked while a flush queues a
 * client's frames, so they leave in one write instead of one per frame.
 */
export interface LiveStream {
  cork(): void;
  uncork(): void;
}

export interface LiveClient {
  readonly socket: Socket;
  readonly stream: LiveStream | undefined;
  /** Devices the page shows: a set of ids, '*' for the whole fleet, or nothing yet. */
  devices: Set<string> | '*' | undefined;
  /** Messages dropped since the page was last told to refetch. */
  dropped: number;
}

interface LatestReading {
  seq: number;
  ts: string;
  values: Record<string, number>;
}

const OPEN = 1;
const TEXT = { binary: false } as const;

/** A message as sent: JSON encoded to UTF-8 once, the same bytes for every client. */
const frame = (message: LiveMessage): Buffer => Buffer.from(JSON.stringify(message));

/**
 * Whether a reading measured at `ms` can pass the hub's "newer than" check against `than` (nothing is
 * newer than a time that does not parse; the same time may be a higher seq).
 */
const mayBeNewer = (ms: number, than: { ts: string } | undefined): boolean =>
  than === undefined || ms >= Date.parse(than.ts);

function newestReading(payload: Buffer): LatestReading | undefined {
  let body: unknown;
  try {
    body = JSON.parse(payload.toString('utf8'));
  } catch {
    return undefined;
  }
  const readings = (body as { readings?: unknown } | null)?.readings;
  if (!Array.isArray(readings)) return undefined;
  let best: LatestReading | undefined;
  for (const r of readings as { seq?: unknown; ts?: unknown; values?: unknown }[]) {
    if (!r || !Number.isSafeInteger(r.seq) || typeof r.ts !== 'string' || r.ts.length > 40) continue;
    if (typeof r.values !== 'object' || r.values === null) continue;
    if (best && (r.seq as number) <= best.seq) continue;
    const values: Record<string, number> = {};
    for (const [k, v] of Object.entries(r.values as Record<string, unknown>)) {
      if (typeof v === 'number' && Number.isFinite(v) && /^[a-z][a-z0-9_]{0,49}$/.test(k)) values[k] = v;
    }
    best = { seq: r.seq as number, ts: r.ts, values };
  }
  return best;
}

/** Flushes closer together than this are merged: a fleet at 1 Hz costs ~100 flushes/s, not one per reading. */
const MIN_FLUSH_GAP_MS = 10;

/**
 * Live fan-out to browsers. A device's reading goes out as soon as it arrives when that device sent none
 * within the last tick; otherwise it waits for the tick to end, coalesced with what else came meanwhile:
 * a device replaying a backlog of thousands of readings costs the browsers one message per tick (its newest
 * reading), a 1 Hz device none of the tick's delay, and a reading older than what was already sent is not
 * sent at all. Each client has a bounded
 * send buffer (the socket's unsent bytes): a flush's messages to a client beyond it when the flush begins
 * are dropped and counted, and once it has drained the page gets `{type: "dropped"}` telling it to
 * refetch. A slow browser therefore costs only its own completeness, never the service's memory (at most
 * the bound and one flush) or the other clients' latency.
 */
export class LiveHub {
  readonly name = 'live-hub';
  private readonly clients = new Set<LiveClient>();
  private readonly readings = new Map<string, LatestReading>();
  /**
   * Per device, the seq and measurement time last sent (what counts as "newer") and when (monotonic ms:
   * the next of its readings waits until a tick after that).
   */
  private readonly lastSent = new Map<string, { seq: number; ts: string; at: number }>();
  private readonly deviceChanges = new Map<string, { online?: boolean; state?: Record<string, unknown> }>();
  private commandChanges: CommandView[] = [];
  private alertChanges = new Map<number, AlertView>();
  private timer: NodeJS.Timeout | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  /** When the pending flush runs (Infinity: none pending). */
  private flushAt = Number.POSITIVE_INFINITY;
  private lastFlushAt = Number.NEGATIVE_INFINITY;
  private running = false;

  constructor(
    private readonly opts: {
      tickMs: number;
      maxBufferBytes: number;
      log: Logger;
      onSent?: (n: number) => void;
      onDropped?: (n: number) => void;
      onClients?: (n: number) => void;
      onReading?: () => void;
      /** Monotonic ms (default performance.now). */
      now?: () => number;
    },
  ) {}

  private now(): number {
    return this.opts.now ? this.opts.now() : performance.now();
  }

  get clientCount(): number {
    return this.clients.size;
  }

  async start(): Promise<void> {
    this.running = true;
    // The tick still runs when nothing arrives: it tells pages that had updates dropped once they caught up.
    this.timer = setInterval(() => this.flush(), this.opts.tickMs);
  }

  async stop(): Promise<void> {
    this.running = false;
    clearInterval(this.timer);
    clearTimeout(this.flushTimer);
    for (const c of this.clients) c.socket.close(1001, 'server shutting down');
    this.clients.clear();
  }

  add(socket: Socket, stream?: LiveStream): LiveClient {
    const client: LiveClient = { socket, stream, devices: undefined, dropped: 0 };
    this.clients.add(client);
    this.opts.onClients?.(this.clients.size);
    return client;
  }

  remove(client: LiveClient): void {
    this.clients.delete(client);
    this.opts.onClients?.(this.clients.size);
  }

  subscribe(client: LiveClient, devices: string[] | '*'): void {
    client.devices = devices === '*' ? '*' : new Set(devices);
    this.send(client, frame({ type: 'subscribed', devices }));
  }

  telemetry(deviceId: string, payload: Buffer): void {
    this.opts.onReading?.();
    const sent = this.lastSent.get(deviceId);
    const pending = this.readings.get(deviceId);
    // A replayed batch measured before what the device already shows cannot change the view: told from
    // its times alone, without parsing the batch (the check below would refuse each of its readings).
    const bound = sent || pending ? latestTsBound(payload) : undefined;
    if (bound !== undefined && (!mayBeNewer(bound, sent) || !mayBeNewer(bound, pending))) return;
    const newest = newestReading(payload);
    if (!newest) return;
    // Newer = measured later (same time: a higher seq). A replay is older; a device whose seqs started over
    // (its Redis was wiped) still shows live.
    const at = Date.parse(newest.ts);
    const newer = (than: { seq: number; ts: string } | undefined) => {
      if (!than) return true;
      const t = Date.parse(than.ts);
      return at > t || (at === t && newest.seq > than.seq);
    };
    if (!newer(pending) || !newer(sent)) return;
    this.readings.set(deviceId, newest);
    this.flushBy(sent ? sent.at + this.opts.tickMs : this.now());
  }

  online(deviceId: string, online: boolean): void {
    const c = this.deviceChanges.get(deviceId) ?? {};
    c.online = online;
    this.deviceChanges.set(deviceId, c);
    this.flushBy(this.now());
  }

  state(deviceId: string, state: Record<string, unknown>): void {
    const c = this.deviceChanges.get(deviceId) ?? {};
    c.state = state;
    this.deviceChanges.set(deviceId, c);
    this.flushBy(this.now());
  }

  command(view: CommandView): void {
    this.commandChanges.push(view);
    this.flushBy(this.now());
  }

  /** An alert changed (any replica): its latest view goes to the pages that show its device. */
  alert(view: AlertView): void {
    this.alertChanges.set(view.id, view);
    this.flushBy(this.now());
  }

  /** Makes sure a flush runs no later than `at` (and no sooner than MIN_FLUSH_GAP_MS after the last). */
  private flushBy(at: number): void {
    if (!this.running) return;
    const when = Math.max(at, this.lastFlushAt + MIN_FLUSH_GAP_MS);
    if (when >= this.flushAt) return;
    clearTimeout(this.flushTimer);
    this.flushAt = when;
    this.flushTimer = setTimeout(
      () => {
        this.flushAt = Number.POSITIVE_INFINITY;
        this.flushTimer = undefined;
        this.flush();
      },
      Math.max(0, when - this.now()),
    );
  }

  /**
   * The broker link was away and is back: changes made meanwhile were never seen here, so every page
   * with a subscription is told to refetch what it shows (the same message as after dropped updates).
   */
  resync(): void {
    for (const client of this.clients) {
      if (client.devices === undefined) continue;
      this.send(
        client,
        frame({
          type: 'dropped',
          count: 0,
          message: 'the live feed was interrupted (broker reconnect); refetch what this page shows',
        }),
      );
    }
  }

  /**
   * Every queued change once to every client that shows its device; a reading whose device sent one less
   * than a tick ago stays queued for then.
   */
  flush(): void {
    if (
      !this.readings.size &&
      !this.deviceChanges.size &&
      !this.commandChanges.length &&
      !this.alertChanges.size
    ) {
      for (const c of this.clients) this.tellDropped(c);
      return;
    }
    const now = this.now();
    this.lastFlushAt = now;
    const out: { deviceId: string; frame: Buffer }[] = [];
    let nextDue = Number.POSITIVE_INFINITY;
    for (const [deviceId, r] of this.readings) {
      const due = (this.lastSent.get(deviceId)?.at ?? Number.NEGATIVE_INFINITY) + this.opts.tickMs;
      if (due > now) {
        nextDue = Math.min(nextDue, due);
        continue;
      }
      this.lastSent.set(deviceId, { seq: r.seq, ts: r.ts, at: now });
      this.readings.delete(deviceId);
      out.push({ deviceId, frame: frame({ type: 'reading', deviceId, ...r }) });
    }
    for (const [deviceId, change] of this.deviceChanges) {
      out.push({ deviceId, frame: frame({ type: 'device', deviceId, ...change }) });
    }
    for (const command of this.commandChanges) {
      out.push({ deviceId: command.deviceId, frame: frame({ type: 'command', command }) });
    }
    for (const alert of this.alertChanges.values()) {
      out.push({ deviceId: alert.deviceId, frame: frame({ type: 'alert', alert }) });
    }
    this.alertChanges.clear();
    this.deviceChanges.clear();
    this.commandChanges = [];
    let sent = 0;
    let dropped = 0;
    for (const client of this.clients) {
      const { devices, socket } = client;
      if (devices === undefined || socket.readyState !== OPEN) continue;
      // How far behind the client is, as it was before this flush: one that keeps up gets all of it, one
      // that is behind none of it (the bound is overshot by at most one flush).
      const behind = socket.bufferedAmount > this.opts.maxBufferBytes;
      client.stream?.cork();
      this.tellDropped(client);
      for (const m of out) {
        if (devices !== '*' && !devices.has(m.deviceId)) continue;
        if (behind) {
          client.dropped++;
          dropped++;
        } else {
          socket.send(m.frame, TEXT);
          sent++;
        }
      }
      client.stream?.uncork();
    }
    if (sent) this.opts.onSent?.(sent);
    if (dropped) this.opts.onDropped?.(dropped);
    if (nextDue !== Number.POSITIVE_INFINITY) this.flushBy(nextDue);
  }

  private tellDropped(client: LiveClient): void {
    if (client.dropped === 0 || client.socket.bufferedAmount > this.opts.maxBufferBytes / 2) return;
    const count = client.dropped;
    client.dropped = 0;
    this.send(
      client,
      frame({
        type: 'dropped',
        count,
        message: 'live updates were dropped because this page fell behind; refetch what it shows',
      }),
    );
  }

  /** One message to one client, or dropped and counted when the client is too far behind. */
  private send(client: LiveClient, message: Buffer): void {
    if (client.socket.readyState !== OPEN) return;
    if (client.socket.bufferedAmount > this.opts.maxBufferBytes) {
      client.dropped++;
      this.opts.onDropped?.(1);
      return;
    }
    client.socket.send(message, TEXT);
    this.opts.onSent?.(1);
  }
}
