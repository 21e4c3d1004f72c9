import type { Redis } from 'ioredis';
import type { Component, Logger } from '@sensorfleet/shared';

/** What the watch tells: the forwarder in production. */
export interface AppendListener {
  setAppendHints(on: boolean): void;
  onAppended(seq: number): void;
}

/**
 * Listens on the sensor's `outbox:appended` channel over a subscriber connection of its own (a Redis
 * connection in subscribe mode can do nothing else), so a live reading leaves the moment it is appended
 * instead of at the next poll. Pub/sub delivers at most once: while the subscriber is not subscribed the
 * forwarder is told to poll as it does without hints, and when it is subscribed again it pumps once.
 */
export class AppendWatch implements Component {
  readonly name = 'append-watch';
  private subscribed = false;

  constructor(
    private readonly subscriber: Redis,
    private readonly channel: string,
    private readonly listener: AppendListener,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel === this.channel) this.listener.onAppended(Number(message));
    });
    await this.subscriber.connect();
    await this.subscriber.subscribe(this.channel);
    this.subscriber.on('close', () => this.hints(false));
    // ioredis subscribes again by itself after a reconnect (queued before anything else it sends); a hint
    // lost in between is caught by the pump hints(true) causes, or by the next poll.
    this.subscriber.on('ready', () => this.hints(true));
    this.hints(true);
  }

  async stop(): Promise<void> {
    this.hints(false);
    this.subscriber.disconnect();
  }

  private hints(on: boolean): void {
    if (on === this.subscribed) return;
    this.subscribed = on;
    this.log.debug({ on }, on ? 'append hints on' : 'append hints off: polling the outbox');
    this.listener.setAppendHints(on);
  }
}
