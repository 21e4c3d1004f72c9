import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { isConflict } from '@sensorfleet/mariadb';
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
 * Every replica runs this loop; a lease per device (`command_leases`) makes one of them at a time publish
 * a device's commands. The lease and the claim of the commands (`status = 'sent'`) are committed in one
 * transaction BEFORE anything is published, and the lease is taken with an upsert, not a row lock or
 * GET_LOCK: on a Galera cluster those are node-local, so two replicas writing to two nodes (during a
 * failover, or a partition that one replica's pool noticed first) would both have "held" them and both
 * published. Their two claims touch the same rows, so Galera certifies one and rolls the other back, and
 * the loser publishes nothing. The holder then publishes in order (QoS 1, PUBACK awaited) — nothing of a
 * device after a command that did not go out, and those go back to `pending` — and frees the lease.
 * Holding the lease across the publishes keeps a device's commands in order across replicas: stop then
 * start must not arrive as start then stop.
 *
 * A `sent` command without an answer after `resendAfterMs` is published again (same id) while it has not
 * expired: that covers a device that was gone without the broker knowing yet, a result that no replica
 * was connected to hear, and a holder that died between claim and publish. A repeated id is answered by
 * the device with its stored result instead of running it twice (command-router, Redis), so at-least-once
 * publishing is exactly-once in effect.
 */
export class DesiredStatePublisher {
  readonly name = 'desired-state-publisher';
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private readonly kicked = new Set<string>();
  private stopped = true;
  /** This replica's name in `command_leases`. */
  private readonly holder = `${hostname().slice(0, 60)}-${randomBytes(6).toString('hex')}`;

  constructor(
    private readonly deps: {
      pool: Pool;
      store: CommandStore;
      broker: CommandSink;
      log: Logger;
      intervalMs: number;
      resendAfterMs?: number;
      /** How long a device's lease holds if its holder dies mid-round (default 60 s). */
      leaseMs?: number;
      onPublished?: (n: number) => void;
      onExpired?: (n: number) => void;
    },
  ) {}

  private get leaseMs(): number {
    return this.deps.leaseMs ?? 60_000;
  }

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
      .catch((err: unknown) => {
        // A lost certification: another replica (on another Galera node) claimed these devices first.
        if (isConflict(err)) this.deps.log.debug({ err }, 'another replica is publishing these commands');
        else this.deps.log.warn({ err }, 'command delivery round failed; retrying');
      });
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
    // A kicked device has its lease taken only if it has something due: every replica is kicked by the
    // same `online` message, and leases taken for nothing would only conflict with each other.
    const kickedDue = kicked.length
      ? ((await this.deps.pool.query(
          `SELECT DISTINCT device_id AS id FROM commands WHERE device_id IN (${kicked.map(() => '?').join(',')})` +
            " AND (status = 'pending' OR (status = 'sent' AND sent_at < ?)) AND expires_at > ?",
          [...kicked, resendBefore, now],
        )) as { id: string }[])
      : [];
    // Sorted: replicas take overlapping leases in one order, not into a deadlock.
    const devices = [...new Set([...online, ...kickedDue].map((r) => r.id))].sort();
    if (!devices.length) return 0;
    let published = 0;
    for (let i = 0; i < devices.length; i += 200)
      published += await this.deliver(devices.slice(i, i + 200), now, resendBefore);
    return published;
  }

  private async deliver(devices: string[], now: Date, resendBefore: Date): Promise<number> {
    const claimedAt = new Date();
    const list = devices.map(() => '?').join(',');
    const { held, rows } = await this.deps.store.transaction(async (conn) => {
      // Take (or renew) the lease of each device whose lease is free or ours. `holder` is assigned first,
      // so the `until` test sees the new holder: ours now means taken or renewed.
      const until = new Date(claimedAt.getTime() + this.leaseMs);
      await conn.query(
        `INSERT INTO command_leases (device_id, holder, until) VALUES ${devices.map(() => '(?, ?, ?)').join(',')}` +
          ' ON DUPLICATE KEY UPDATE holder = IF(until < ?, VALUES(holder), holder),' +
          ' until = IF(holder = VALUES(holder), VALUES(until), until)',
        [...devices.flatMap((d) => [d, this.holder, until]), claimedAt],
      );
      const held = (
        (await conn.query(
          `SELECT device_id FROM command_leases WHERE device_id IN (${list}) AND holder = ?`,
          [...devices, this.holder],
        )) as { device_id: string }[]
      ).map((r) => r.device_id);
      let rows: Pick<CommandRow, 'id' | 'device_id' | 'command' | 'args' | 'expires_at'>[] = [];
      if (held.length) {
        // Read after the lease is ours: what another holder published before it let go is `sent` now.
        rows = (await conn.query(
          'SELECT id, device_id, command, args, expires_at FROM commands' +
            ` WHERE device_id IN (${held.map(() => '?').join(',')})` +
            " AND (status = 'pending' OR (status = 'sent' AND sent_at < ?)) AND expires_at > ?" +
            ' ORDER BY created_at, id LIMIT 500',
          [...held, resendBefore, now],
        )) as typeof rows;
        if (rows.length)
          await conn.query(
            `UPDATE commands SET status = 'sent', sent_at = ? WHERE id IN (${rows.map(() => '?').join(',')})`,
            [claimedAt, ...rows.map((r) => r.id)],
          );
      }
      // A conflict at the commit (another node's replica claimed the same device or command first)
      // rolls this claim back before anything was published.
      return { held, rows };
    });
    if (!held.length) return 0;

    const sent: string[] = [];
    const unsent: string[] = [];
    const failed = new Set<string>();
    try {
      for (const r of rows) {
        if (failed.has(r.device_id)) {
          unsent.push(r.id); // keep the order: nothing after a command that did not go out
          continue;
        }
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
          sent.push(r.id);
        } catch (err) {
          this.deps.log.warn({ err, id: r.id }, 'command publish failed; it stays pending');
          failed.add(r.device_id);
          unsent.push(r.id);
        }
      }
      if (unsent.length)
        // Only what this claim set and nobody answered since.
        await this.deps.pool.query(
          `UPDATE commands SET status = 'pending' WHERE id IN (${unsent.map(() => '?').join(',')})` +
            " AND status = 'sent' AND sent_at = ?",
          [...unsent, claimedAt],
        );
    } finally {
      await this.deps.pool
        .query(
          `DELETE FROM command_leases WHERE device_id IN (${held.map(() => '?').join(',')}) AND holder = ?`,
          [...held, this.holder],
        )
        .catch((err: unknown) => this.deps.log.debug({ err }, 'command leases not freed; they expire'));
    }
    if (sent.length) {
      this.deps.onPublished?.(sent.length);
      this.deps.log.info({ commands: sent.length }, 'commands published');
    }
    return sent.length;
  }
}
