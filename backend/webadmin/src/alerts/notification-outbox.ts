import type { AlertTarget, AlertWebhookBody } from '@sensorfleet/shared/schemas/alerts';
import { createHash, randomUUID } from 'node:crypto';
import type { PoolConnection } from 'mariadb';

/*
 * The outbox `alert_notifications`: a notification is written in the same transaction as the alert change
 * it announces, and sent afterwards by the dispatcher (notification-dispatcher.ts), so a crash between the
 * two neither loses it nor invents one. Its id is minted once here and travels in the webhook body, so a
 * receiver can deduplicate a message sent again after a crash.
 */

export const STORM_WINDOW_MS = 60_000;

export const RETRY = {
  baseMs: 10_000,
  maxDelayMs: 15 * 60_000,
  maxAttempts: 10,
  maxAgeMs: 24 * 3_600_000,
};

/** Storm windows are per target; a webhook's secret is part of it (one group is signed with one key). */
export function targetKey(t: AlertTarget): string {
  const address = t.type === 'email' ? `email:${t.to.toLowerCase()}` : `webhook:${t.url}\n${t.secret}`;
  return createHash('sha256').update(address).digest('hex');
}

/** Writes one notification per target, in the caller's transaction (the one that changed the alert). */
export async function enqueueNotifications(
  conn: PoolConnection,
  body: Omit<AlertWebhookBody, 'id'>,
  targets: readonly AlertTarget[],
  now: Date,
): Promise<string[]> {
  const ids: string[] = [];
  for (const t of targets) {
    const id = randomUUID();
    const key = targetKey(t);
    await conn.query(
      'INSERT INTO alert_notifications (id, alert_id, rule_id, device_id, channel, target_key, target, state,' +
        ' body, next_attempt_at, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)',
      [
        id,
        body.alertId,
        body.ruleId,
        body.deviceId,
        t.type,
        key,
        JSON.stringify(t),
        body.state,
        JSON.stringify({ id, ...body }),
        now,
        now,
      ],
    );
    await conn.query('INSERT IGNORE INTO alert_targets (target_key) VALUES (?)', [key]);
    ids.push(id);
  }
  return ids;
}

/**
 * When to try again after `attempts` failed attempts: exponential from RETRY.baseMs, capped, with jitter
 * (half to all of the step) so targets that failed together do not retry in lockstep. `null` = give up.
 */
export function planRetry(
  attempts: number,
  createdAt: number,
  now: number,
  random: () => number = Math.random,
  policy = RETRY,
): number | null {
  if (attempts >= policy.maxAttempts) return null;
  const step = Math.min(policy.baseMs * 2 ** Math.max(0, attempts - 1), policy.maxDelayMs);
  const at = now + Math.round(step * (0.5 + random() / 2));
  if (at - createdAt > policy.maxAgeMs) return null;
  return at;
}

export interface DueNotification {
  id: string;
  createdAt: number;
  /** Set once a message has been formed for it (a retry sends the same message). */
  messageId: string | null;
}

export type StormPlan =
  | { kind: 'wait'; until: number }
  | { kind: 'send'; ids: string[]; messageId: string; opensWindow: boolean; retry: boolean }
  | { kind: 'idle' };

/**
 * Storm control for one target. A message already formed (a retry) goes as it was. Otherwise the first
 * notification in a quiet minute goes alone and opens a window of STORM_WINDOW_MS; what arrives inside
 * the window waits for its end and then goes as one message, which opens the next window. A value that
 * keeps flapping therefore costs each target at most two messages in its first minute and one a minute
 * after that.
 */
export function planStorm(
  now: number,
  windowStartedAt: number | null,
  due: readonly DueNotification[],
  newId: () => string = randomUUID,
  windowMs = STORM_WINDOW_MS,
): StormPlan {
  const formed = due.find((n) => n.messageId !== null);
  if (formed) {
    return {
      kind: 'send',
      ids: due.filter((n) => n.messageId === formed.messageId).map((n) => n.id),
      messageId: formed.messageId!,
      opensWindow: false,
      retry: true,
    };
  }
  if (!due.length) return { kind: 'idle' };
  const sorted = [...due].sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
  const windowEnd = windowStartedAt === null ? null : windowStartedAt + windowMs;
  if (windowEnd !== null && now < windowEnd) return { kind: 'wait', until: windowEnd };
  const held = windowEnd === null ? [] : sorted.filter((n) => n.createdAt < windowEnd);
  const chosen = held.length ? held : [sorted[0]!];
  return {
    kind: 'send',
    ids: chosen.map((n) => n.id),
    // A single notification is sent under its own id; a group gets one of its own.
    messageId: chosen.length === 1 ? chosen[0]!.id : newId(),
    opensWindow: true,
    retry: false,
  };
}
