import { banner } from './banner.js';

/**
 * What /ws sends: `reading` {deviceId, seq, ts, values}, `device` {deviceId, online?, state?},
 * `command` {command: {id, deviceId, status, …}}, `dropped` {count} when the server had to skip messages
 * for this page, `subscribed`, `error`. Loosely typed: pages read the fields they use and ignore the rest.
 */
export interface LiveMessage {
  type: string;
  deviceId?: string;
  [k: string]: unknown;
}

export interface LiveOptions {
  subscribe: '*' | string[];
  onMessage(msg: LiveMessage): void;
  /** After a reconnect (not the first connect): messages may have been missed, so refetch. */
  onResync?(): void;
}

type LiveState = 'connecting' | 'live' | 'reconnecting';
const LABEL: Record<LiveState, string> = {
  connecting: 'connecting',
  live: 'live',
  reconnecting: 'reconnecting',
};

/**
 * The page's one WebSocket to /ws. Reconnects with exponential backoff and jitter (1 s → 30 s), so a
 * restarted server is not stormed by every open page at once; the header shows live / reconnecting.
 */
export class LiveConnection {
  private ws: WebSocket | undefined;
  private attempt = 0;
  private opened = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;

  constructor(private readonly opts: LiveOptions) {}

  start(): void {
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.ws?.close(1000);
  }

  private connect(): void {
    this.paint(this.opened ? 'reconnecting' : 'connecting');
    const url = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/ws`;
    const ws = new WebSocket(url);
    this.ws = ws;
    ws.onopen = () => {
      ws.send(JSON.stringify({ subscribe: this.opts.subscribe }));
      const resync = this.opened;
      this.opened = true;
      this.attempt = 0;
      this.paint('live');
      banner.clear('live');
      if (resync) this.opts.onResync?.();
    };
    ws.onmessage = (ev) => {
      if (typeof ev.data !== 'string') return;
      let msg: unknown;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        return;
      }
      // A server may batch one tick's messages into an array.
      for (const m of Array.isArray(msg) ? msg : [msg]) {
        if (m && typeof m === 'object' && typeof (m as { type?: unknown }).type === 'string') {
          this.opts.onMessage(m as LiveMessage);
        }
      }
    };
    ws.onclose = () => {
      if (this.ws !== ws || this.stopped) return;
      this.paint('reconnecting');
      if (this.attempt >= 2) banner.set('live', 'Live updates are interrupted; reconnecting…');
      const delay = Math.min(30_000, 1000 * 2 ** this.attempt) * (0.5 + Math.random() / 2);
      this.attempt++;
      this.timer = setTimeout(() => this.connect(), delay);
    };
    ws.onerror = () => {
      // onclose follows and schedules the retry; the browser logs nothing more useful here.
    };
  }

  private paint(state: LiveState): void {
    const el = document.getElementById('live');
    if (!el) return;
    el.hidden = false;
    el.dataset.state = state;
    el.title = state === 'live' ? 'Receiving live updates' : 'Live updates are not arriving right now';
    const text = el.querySelector('.live-text');
    if (text) text.textContent = LABEL[state];
  }
}
