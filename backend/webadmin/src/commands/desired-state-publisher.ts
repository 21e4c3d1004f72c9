import { topics, type Logger } from '@sensorfleet/shared';
import type { Pool } from 'mariadb';
import type { CommandRow, CommandStore } from './command-store.js';

export interface CommandSink {
  readonly connected: boolean;
  publish(topic: string, payload: string): Promise<void>;
}

/**
 * Desired state: pending commands reach their device when it is online, or as soon as it comes back.
 *
 * Every replica runs this loop; a row lock makes exactly one of them publish each command. The candidates
 * are read under `SELECT … FOR UPDATE SKIP LOCKED` in a transaction that stays open while they are
 * published (QoS 1, PUBACK awaited) and marked `sent`: another replica skips the locked rows, and after
 * the commit they are no longer pending. A named lock per device (taken without waiting) keeps a device's
 * commands in order across replicas: stop then start must not arrive as start then stop. If this process dies between publish and commit, the rows stay
 * pending and are published again later: the device answers a repeated command id with its stored result
 * instead of running it twice, so at-least-once publishing is exactly-once in effect.
 *
 * A `sent` command without an answer after `resendAfterMs` is published again (same id) while it has not
 * expired: that covers a device that was gone without the broker knowing yet, and a result that no
 * replica was connected to hear.
 */
export class DesiredStatePublisher {
  readonly name = 'desired-state-publisher';
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private readonly kicked = new Set<string>();
  private stopped = true;

  constructor(
    private readonly deps: {
      pool: Pool;
      store: CommandStore;
      broker: CommandSink;
      log: Logger;
      intervalMs: number;
      resendAfterMs?: number;
      onPublished?: (n: number) => void;
      onExpired?: (n: number) => void;
    },
  ) {}

  async start(): Promise<void> {
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /**
   * Look now (a command was created, or a device said it is online). With a device id, that device is
   * taken as online even if the registry has not caught up with its `online` message yet.
   */
  kick(deviceId?: string): void {
    if (deviceId) this.kicked.add(deviceId);
    if (this.running) this.again = true;
    else this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.loop(), ms);
  }

  private async loop(): Promise<void> {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.runOnce()
      .then(() => undefined)
      .catch((err: unknown) => this.deps.log.warn({ err }, 'command delivery round failed; retrying'));
    await this.running;
    this.running = undefined;
    if (this.again) {
      this.again = false;
      this.schedule(0);
    } else this.schedule(this.deps.intervalMs);
  }

  /** One round: expire, then deliver what is due. Returns how many commands this replica published. */
  async runOnce(): Promise<number> {
    const now = new Date();
    const expired = await this.deps.store.expire(now);
    if (expired) this.deps.onExpired?.(expired);
    if (!this.deps.broker.connected) return 0;
    const resendBefore = new Date(now.getTime() - (this.deps.resendAfterMs ?? 30_000));
    const kicked = [...this.kicked];
    this.kicked.clear();
    const online = (await this.deps.pool.query(
      'SELECT DISTINCT c.device_id AS id FROM commands c JOIN devices d ON d.id = c.device_id' +
        " WHERE d.online = 1 AND (c.status = 'pending' OR (c.status = 'sent' AND c.sent_at < ?))" +
        ' AND c.expires_at > ?',
      [resendBefore, now],
    )) as { id: string }[];
    const devices = [...new Set([...online.map((r) => r.id), ...kicked])];
    if (!devices.length) return 0;
    let published = 0;
    for (let i = 0; i < devices.length; i += 200)
      published += await this.deliver(devices.slice(i, i + 200), now, resendBefore);
    return published;
  }

  private async deliver(devices: string[], now: Date, resendBefore: Date): Promise<number> {
    const conn = await this.deps.store.connection();
    const sent: string[] = [];
    let claimed: string[] = [];
    try {
      // One replica at a time per device (a named lock, not waited for): a device's commands go out in the
      // order they were given, even when two replicas look at once. Named locks do not touch rows the
      // receiver writes (devices), unlike locking the device rows would.
      const got = (await conn.query(
        `SELECT ${devices.map((_, i) => `GET_LOCK(CONCAT('sf-commands:', SHA1(?)), 0) AS g${i}`).join(', ')}`,
        devices,
      )) as Record<string, number | null>[];
      claimed = devices.filter((_, i) => Number(got[0]?.[`g${i}`]) === 1);
      if (!claimed.length) return 0;
      await conn.beginTransaction();
      const rows = (await conn.query(
        'SELECT id, device_id, command, args, expires_at FROM commands' +
          ` WHERE device_id IN (${claimed.map(() => '?').join(',')})` +
          " AND (status = 'pending' OR (status = 'sent' AND sent_at < ?)) AND expires_at > ?" +
          ' ORDER BY created_at, id LIMIT 500 FOR UPDATE SKIP LOCKED',
        [...claimed, resendBefore, now],
      )) as Pick<CommandRow, 'id' | 'device_id' | 'command' | 'args' | 'expires_at'>[];
      const failed = new Set<string>();
      for (const r of rows) {
        if (failed.has(r.device_id)) continue; // keep the order: nothing after a command that did not go out
        const args = (typeof r.args === 'string' ? JSON.parse(r.args) : (r.args ?? {})) as Record<
          string,
          unknown
        >;
        const payload = JSON.stringify({
          ...args,
          id: r.id,
          command: r.command,
          expiresAt: r.expires_at?.toISOString(),
        });
        try {
          await this.deps.broker.publish(topics.commands(r.device_id), payload);
        } catch (err) {
          this.deps.log.warn({ err, id: r.id }, 'command publish failed; it stays pending');
          failed.add(r.device_id);
          continue;
        }
        sent.push(r.id);
      }
      if (sent.length) {
        await conn.query(
          // By primary key only: the rows are locked by this transaction, so their status cannot have moved.
          `UPDATE commands SET status = 'sent', sent_at = ? WHERE id IN (${sent.map(() => '?').join(',')})`,
          [new Date(), ...sent],
        );
      }
      await conn.commit();
    } catch (err) {
      await conn.rollback().catch(() => undefined);
      throw err;
    } finally {
      if (claimed.length) {
        await conn
          .query(
            `SELECT ${claimed.map(() => "RELEASE_LOCK(CONCAT('sf-commands:', SHA1(?)))").join(', ')}`,
            claimed,
          )
          .catch(() => undefined);
      }
      await conn.release();
    }
    if (sent.length) {
      this.deps.onPublished?.(sent.length);
      this.deps.log.info({ commands: sent.length }, 'commands published');
    }
    return sent.length;
  }
}
