import { WEBHOOK_SIGNATURE_HEADER } from '@sensorfleet/shared/schemas/alerts';
import { createHmac } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { checkWebhookTarget, type Resolver, type WebhookAllowList } from './webhook-address-policy.js';

export const WEBHOOK_TIMEOUT_MS = 5000;
/** What we read of an answer before hanging up: the status is all that counts. */
export const WEBHOOK_MAX_RESPONSE_BYTES = 16 * 1024;

/** `sha256=<hex HMAC-SHA256 of the raw body>`, keyed with the target's secret. */
export function webhookSignature(rawBody: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(rawBody, 'utf8').digest('hex')}`;
}

export interface WebhookResult {
  ok: boolean;
  status?: number;
  error?: string;
}

/**
 * POSTs one signed JSON body. The address policy is checked again now (DNS may have changed since the rule
 * was saved) and the socket goes to exactly the address checked (the `lookup` hook), so the name cannot
 * resolve elsewhere in between. Redirects are not followed: a 3xx is a failure like any non-2xx.
 */
export async function sendWebhook(
  target: { url: string; secret: string },
  rawBody: string,
  allow: WebhookAllowList,
  opts: { timeoutMs?: number; resolve?: Resolver } = {},
): Promise<WebhookResult> {
  let checked;
  try {
    checked = await checkWebhookTarget(target.url, allow, opts.resolve);
  } catch (err) {
    return { ok: false, error: `refused: ${(err as Error).message}` };
  }
  const { url, address, family } = checked;
  const pinned: LookupFunction = (_host, options, callback) => {
    if ((options as { all?: boolean }).all) callback(null, [{ address, family }]);
    else callback(null, address, family);
  };
  const client = url.protocol === 'https:' ? https : http;
  const timeoutMs = opts.timeoutMs ?? WEBHOOK_TIMEOUT_MS;
  return new Promise<WebhookResult>((resolve) => {
    let done = false;
    const finish = (r: WebhookResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      resolve(r);
    };
    const req = client.request(
      url,
      {
        method: 'POST',
        lookup: pinned,
        agent: false,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(rawBody),
          'user-agent': 'sensorfleet-webadmin',
          [WEBHOOK_SIGNATURE_HEADER]: webhookSignature(rawBody, target.secret),
        },
      },
      (res) => {
        const status = res.statusCode ?? 0;
        let read = 0;
        res.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read > WEBHOOK_MAX_RESPONSE_BYTES) conclude();
        });
        res.on('end', () => conclude());
        res.on('error', () => conclude());
        function conclude() {
          if (status >= 200 && status < 300) finish({ ok: true, status });
          else if (status >= 300 && status < 400)
            finish({ ok: false, status, error: `answered ${status}: redirects are not followed` });
          else finish({ ok: false, status, error: `answered ${status}` });
        }
      },
    );
    const timer = setTimeout(
      () => finish({ ok: false, error: `no answer within ${timeoutMs} ms` }),
      timeoutMs,
    );
    req.on('error', (err) => finish({ ok: false, error: err.message }));
    req.end(rawBody);
  });
}
