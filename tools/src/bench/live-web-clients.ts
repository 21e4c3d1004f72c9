import { request } from 'node:http';
import WebSocket from 'ws';
import { LatencyCollector } from './latency-collector.js';
import { parseLiveFrame } from './live-frame.js';

export interface LiveWebClientsOptions {
  /** The web admin's public URL (http://127.0.0.1:<port>): the Origin every browser sends. */
  baseUrl: string;
  username: string;
  password: string;
  clients: number;
  /** Which devices' readings are timed (the live ones; a backlog's readings are hours old by design). */
  timed: (deviceId: string) => boolean;
  /** A device whose readings are also summarised apart (the real device, against the fleet simulator's). */
  apart?: string | undefined;
}

/** Logs in like the login page does (POST /api/session, JSON) and returns the session cookie. */
function logIn(baseUrl: string, username: string, password: string): Promise<string> {
  const body = JSON.stringify({ username, password });
  return new Promise((resolve, reject) => {
    const req = request(
      `${baseUrl}/api/session`,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          origin: new URL(baseUrl).origin,
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          const cookie = (res.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]!).join('; ');
          if (res.statusCode !== 200 || !cookie)
            reject(
              new Error(`login as ${username}: HTTP ${res.statusCode}, cookie ${cookie ? 'set' : 'missing'}`),
            );
          else resolve(cookie);
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * `clients` browsers' worth of live views: each logged in with its own session, its WebSocket on `/ws`
 * subscribed to the whole fleet (`{"subscribe":"*"}`, as the fleet page does). Latency of a reading frame
 * = arrival − the reading's measured `ts`, both on this machine's clock.
 */
export class LiveWebClients {
  readonly latencies = new LatencyCollector();
  /** The `apart` device's readings alone. */
  readonly apartLatencies = new LatencyCollector();
  /** Reading frames received, per client. */
  readonly frames: number[];
  dropped = 0;
  private readonly sockets: WebSocket[] = [];

  constructor(private readonly opts: LiveWebClientsOptions) {
    this.frames = Array.from({ length: opts.clients }, () => 0);
  }

  async start(): Promise<void> {
    const { opts } = this;
    const origin = new URL(opts.baseUrl).origin;
    const wsUrl = `${opts.baseUrl.replace(/^http/, 'ws')}/ws`;
    for (let i = 0; i < opts.clients; i++) {
      // One at a time: the login limiter counts an attempt in progress as a failure until it succeeds.
      const cookie = await logIn(opts.baseUrl, opts.username, opts.password);
      const ws = new WebSocket(wsUrl, { headers: { cookie, origin } });
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      ws.on('message', (data: Buffer) => this.onFrame(i, data));
      ws.on('error', () => {});
      ws.send(JSON.stringify({ subscribe: '*' }));
      this.sockets.push(ws);
    }
  }

  private onFrame(client: number, data: Buffer): void {
    const now = Date.now();
    const frame = parseLiveFrame(data.toString('utf8'));
    if (frame?.type === 'dropped') this.dropped++;
    if (frame?.type !== 'reading') return;
    this.frames[client]!++;
    if (!this.opts.timed(frame.deviceId)) return;
    const measured = Date.parse(frame.ts);
    this.latencies.add(measured, now - measured);
    if (frame.deviceId === this.opts.apart) this.apartLatencies.add(measured, now - measured);
  }

  stop(): void {
    for (const s of this.sockets) s.terminate();
    this.sockets.length = 0;
  }
}
