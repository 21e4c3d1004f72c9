import type { Logger } from '@sensorfleet/shared';
import type { AlertTarget, AlertWebhookBody, AlertWebhookGroup } from '@sensorfleet/shared/schemas/alerts';
import { withTransaction } from '@sensorfleet/mariadb';
import type { Pool } from 'mariadb';
import { mailContent } from './alert-message.js';
import type { MailSender } from './mail-sender.js';
import { planRetry, planStorm, RETRY } from './notification-outbox.js';
import type { WebhookAllowList } from './webhook-address-policy.js';
import { sendWebhook } from './webhook-sender.js';

type Channel = 'email' | 'webhook';

interface DueRow {
  id: string;
  channel: Channel;
  target: string;
  body: string;
  attempts: number;
  created_at: Date;
  message_id: string | null;
}

/**
 * Sends what the outbox holds, per target, on every replica: the target's `alert_targets` row is locked
 * (SKIP LOCKED) while a message is formed, so two replicas never form or send the same message. A formed
 * message is claimed with a lease (next_attempt_at moved ahead) and committed before it is sent; sending
 * happens outside any transaction, then the rows are marked sent. A crash between send and mark leaves
 * the message pending with the same message id and notification ids: it is sent again once the lease
 * ends, and webhook receivers deduplicate on the ids. Without SMTP_URL, e-mail notifications stay pending
 * (a warning is logged) until a mail server is configured.
 */
export class NotificationDispatcher {
  readonly name = 'alert-dispatcher';
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = true;
  private warnedNoMail = 0;

  constructor(
    private readonly deps: {
      pool: Pool;
      log: Logger;
      mail: MailSender | undefined;
      allow: WebhookAllowList;
      intervalMs?: number;
      leaseMs?: number;
      stormWindowMs?: number;
      retry?: typeof RETRY;
      webhookTimeoutMs?: number;
      onSent?: (channel: Channel, n: number) => void;
      onFailed?: (channel: Channel, n: number) => void;
      onRetried?: (channel: Channel, n: number) => void;
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
    this.deps.mail?.close();
  }

  kick(): void {
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
      .catch((err: unknown) => this.deps.log.warn({ err }, 'alert notification round failed; retrying'));
    await this.running;
    this.running = undefined;
    if (this.again) {
      this.again = false;
      this.schedule(0);
    } else this.schedule(this.deps.intervalMs ?? 1000);
  }

  /** One round over every target with something due; returns the messages sent. */
  async runOnce(now = Date.now()): Promise<number> {
    const keys = (await this.deps.pool.query(
      "SELECT DISTINCT target_key, channel FROM alert_notifications WHERE status = 'pending' AND next_attempt_at <= ?",
      [new Date(now)],
    )) as { target_key: string; channel: Channel }[];
    let sent = 0;
    let mailWaiting = 0;
    for (const k of keys) {
      if (k.channel === 'email' && !this.deps.mail) {
        mailWaiting++;
        continue;
      }
      if (await this.dispatchTarget(k.target_key, now)) sent++;
    }
    if (mailWaiting && now - this.warnedNoMail > 10 * 60_000) {
      this.warnedNoMail = now;
      this.deps.log.warn(
        { targets: mailWaiting },
        'e-mail alert notifications are pending but SMTP_URL is not set; they stay pending until it is',
      );
    }
    return sent;
  }

  private async dispatchTarget(key: string, now: number): Promise<boolean> {
    const claim = await withTransaction(this.deps.pool, async (conn) => {
      const win = (await conn.query(
        'SELECT window_started_at FROM alert_targets WHERE target_key = ? FOR UPDATE SKIP LOCKED',
        [key],
      )) as { window_started_at: Date | null }[];
      if (!win.length) {
        await conn.rollback();
        return undefined; // another replica is at this target
      }
      const due = (await conn.query(
        'SELECT id, channel, target, body, attempts, created_at, message_id FROM alert_notifications' +
          " WHERE target_key = ? AND status = 'pending' AND next_attempt_at <= ? ORDER BY created_at, id LIMIT 200",
        [key, new Date(now)],
      )) as DueRow[];
      const plan = planStorm(
        now,
        win[0]!.window_started_at?.getTime() ?? null,
        due.map((r) => ({ id: r.id, createdAt: r.created_at.getTime(), messageId: r.message_id })),
        undefined,
        this.deps.stormWindowMs,
      );
      if (plan.kind !== 'send') return undefined;
      const chosen = new Set(plan.ids);
      await conn.query(
        `UPDATE alert_notifications SET message_id = ?, next_attempt_at = ? WHERE id IN (${plan.ids.map(() => '?').join(',')})`,
        [plan.messageId, new Date(now + (this.deps.leaseMs ?? 120_000)), ...plan.ids],
      );
      if (plan.opensWindow)
        await conn.query('UPDATE alert_targets SET window_started_at = ? WHERE target_key = ?', [
          new Date(now),
          key,
        ]);
      return { rows: due.filter((r) => chosen.has(r.id)), messageId: plan.messageId, retry: plan.retry };
    });
    if (!claim) return false;
    const { rows, messageId, retry } = claim;

    const channel = rows[0]!.channel;
    const target = JSON.parse(rows[0]!.target) as AlertTarget;
    const bodies = rows.map((r) => JSON.parse(r.body) as AlertWebhookBody);
    const result = await this.send(target, bodies, messageId);
    const ids = rows.map((r) => r.id);
    const inList = ids.map(() => '?').join(',');
    if (retry) this.deps.onRetried?.(channel, 1);
    if (result.ok) {
      await this.deps.pool.query(
        `UPDATE alert_notifications SET status = 'sent', sent_at = ?, attempts = attempts + 1, last_error = NULL WHERE id IN (${inList})`,
        [new Date(), ...ids],
      );
      this.deps.onSent?.(channel, 1);
      return true;
    }
    const attempts = Math.max(...rows.map((r) => r.attempts)) + 1;
    const oldest = Math.min(...rows.map((r) => r.created_at.getTime()));
    const next = planRetry(attempts, oldest, Date.now(), Math.random, this.deps.retry ?? RETRY);
    const error = (result.error ?? 'failed').slice(0, 500);
    if (next === null) {
      await this.deps.pool.query(
        `UPDATE alert_notifications SET status = 'failed', attempts = ?, last_error = ? WHERE id IN (${inList})`,
        [attempts, error, ...ids],
      );
      this.deps.onFailed?.(channel, 1);
      this.deps.log.warn({ messageId, channel, attempts, error }, 'alert notification given up');
    } else {
      await this.deps.pool.query(
        `UPDATE alert_notifications SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE id IN (${inList})`,
        [attempts, new Date(next), error, ...ids],
      );
      this.deps.log.info(
        { messageId, channel, attempts, error, retryAt: new Date(next).toISOString() },
        'alert notification failed; will retry',
      );
    }
    return false;
  }

  private async send(
    target: AlertTarget,
    bodies: AlertWebhookBody[],
    messageId: string,
  ): Promise<{ ok: boolean; error?: string }> {
    if (target.type === 'email') {
      if (!this.deps.mail) return { ok: false, error: 'SMTP_URL is not set' };
      return this.deps.mail.send(target.to, mailContent(bodies), messageId);
    }
    const raw =
      bodies.length === 1
        ? JSON.stringify(bodies[0])
        : JSON.stringify({ id: messageId, group: bodies } satisfies AlertWebhookGroup);
    return sendWebhook(target, raw, this.deps.allow, { timeoutMs: this.deps.webhookTimeoutMs });
  }
}
