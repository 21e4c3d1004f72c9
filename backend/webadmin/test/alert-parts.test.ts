import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { headerValue, mailContent } from '../src/alerts/alert-message.js';
import { planRetry, planStorm, RETRY, STORM_WINDOW_MS } from '../src/alerts/notification-outbox.js';
import { ruleProblem, type RuleDefinition } from '../src/alerts/rule-validation.js';
import {
  checkWebhookTarget,
  checkWebhookUrl,
  isPublicAddress,
  parseWebhookAllowList,
} from '../src/alerts/webhook-address-policy.js';
import { webhookSignature } from '../src/alerts/webhook-sender.js';

const rule = (over: Partial<RuleDefinition>): RuleDefinition => ({
  name: 'hot',
  deviceId: null,
  kind: 'above',
  sensor: 'temperature',
  threshold: 30,
  clear: null,
  forS: 0,
  severity: 'warning',
  targets: [],
  repeatS: null,
  enabled: true,
  ...over,
});
const fieldOf = (r: RuleDefinition, mail = true) => ruleProblem(r, { mailConfigured: mail })?.field;

describe('rule validation', () => {
  it('accepts a complete above rule', () => {
    expect(fieldOf(rule({ clear: 28 }))).toBeUndefined();
  });
  it('names the missing or wrong field', () => {
    expect(fieldOf(rule({ sensor: null }))).toBe('body.sensor');
    expect(fieldOf(rule({ threshold: null }))).toBe('body.threshold');
    expect(fieldOf(rule({ clear: 31 }))).toBe('body.clear');
    expect(fieldOf(rule({ kind: 'below', clear: 29 }))).toBe('body.clear');
    expect(fieldOf(rule({ kind: 'below', clear: 31 }))).toBeUndefined();
    expect(fieldOf(rule({ kind: 'backlog', sensor: null, threshold: null }))).toBe('body.threshold');
    expect(fieldOf(rule({ kind: 'offline', sensor: null, threshold: null, forS: 0 }))).toBe('body.forS');
    expect(fieldOf(rule({ kind: 'no_data', sensor: null, threshold: null, forS: 60 }))).toBeUndefined();
    expect(fieldOf(rule({ kind: 'offline', threshold: null, forS: 60 }))).toBe('body.sensor');
  });
  it('refuses e-mail targets when no mail server is configured', () => {
    const r = rule({
      targets: [
        { type: 'webhook', url: 'https://example.org/x', secret: 'x'.repeat(16) },
        { type: 'email', to: 'ops@example.org' },
      ],
    });
    expect(fieldOf(r, false)).toBe('body.targets.1.to');
    expect(fieldOf(r, true)).toBeUndefined();
  });
});

describe('webhook address policy', () => {
  const none = parseWebhookAllowList(undefined);
  const allow = parseWebhookAllowList('127.0.0.1, hooks.internal, 10.1.0.0/16, ::1');

  it('knows public from private, loopback, link-local, unique-local, CGNAT, multicast, unspecified', () => {
    for (const a of ['8.8.8.8', '2a00:1450::1', '::ffff:8.8.8.8']) expect(isPublicAddress(a), a).toBe(true);
    for (const a of [
      '127.0.0.3',
      '10.0.0.1',
      '172.16.5.5',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '224.0.0.1',
      '0.0.0.0',
      '::',
      '::1',
      'fe80::1',
      'fd00::1',
      'ff02::1',
      '::ffff:127.0.0.1',
      '::ffff:10.0.0.1',
    ])
      expect(isPublicAddress(a), a).toBe(false);
  });

  it('wants https, except for listed hosts', () => {
    expect(() => checkWebhookUrl('http://8.8.8.8/x', none)).toThrow(/https/);
    expect(() => checkWebhookUrl('ftp://8.8.8.8/x', none)).toThrow(/https/);
    expect(() => checkWebhookUrl('https://u:p@8.8.8.8/x', none)).toThrow(/credentials/);
    expect(checkWebhookUrl('http://127.0.0.1:9/x', allow).hostname).toBe('127.0.0.1');
    expect(checkWebhookUrl('http://hooks.internal/x', allow).hostname).toBe('hooks.internal');
  });

  it('checks every resolved address and allows listed hosts and CIDRs', async () => {
    const dns = (map: Record<string, string[]>) => async (h: string) =>
      (map[h] ?? []).map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
    const resolve = dns({
      'a.example': ['8.8.8.8', '10.0.0.1'],
      'b.example': ['10.1.2.3'],
      'c.example': ['8.8.4.4'],
    });
    await expect(checkWebhookTarget('https://127.0.0.3/x', allow, resolve)).rejects.toThrow(/not a public/);
    await expect(checkWebhookTarget('https://[::1]/x', none, resolve)).rejects.toThrow(/not a public/);
    await expect(checkWebhookTarget('https://[::ffff:127.0.0.1]/x', none, resolve)).rejects.toThrow(
      /not a public/,
    );
    await expect(checkWebhookTarget('https://a.example/x', none, resolve)).rejects.toThrow(/10\.0\.0\.1/);
    await expect(checkWebhookTarget('https://nothing.example/x', none, resolve)).rejects.toThrow(/resolve/);
    expect((await checkWebhookTarget('https://c.example/x', none, resolve)).address).toBe('8.8.4.4');
    expect((await checkWebhookTarget('http://b.example/x', allow, resolve)).address).toBe('10.1.2.3');
    expect((await checkWebhookTarget('https://[::1]:8443/x', allow, resolve)).address).toBe('::1');
    expect((await checkWebhookTarget('http://127.0.0.1:9/x', allow, resolve)).family).toBe(4);
  });

  it('refuses a bad allow list', () => {
    expect(() => parseWebhookAllowList('10.0.0.0/33')).toThrow(/CIDR/);
    expect(() => parseWebhookAllowList('not a host!')).toThrow();
  });
});

describe('webhook signature and mail content', () => {
  it('is the hex HMAC-SHA256 of the raw body', () => {
    const body = '{"id":"n1","state":"firing"}';
    const expected = createHmac('sha256', 'k'.repeat(16)).update(body).digest('hex');
    expect(webhookSignature(body, 'k'.repeat(16))).toBe(`sha256=${expected}`);
  });

  it('strips CR/LF from headers and escapes HTML', () => {
    expect(headerValue('a\r\nBcc: x@y')).toBe('a Bcc: x@y');
    const m = mailContent([
      {
        id: 'n1',
        alertId: 1,
        ruleId: 2,
        ruleName: 'Hot <script>\r\nBcc: evil@x',
        deviceId: 'dev-1',
        state: 'firing',
        severity: 'critical',
        value: 31.5,
        at: '2026-01-01T00:00:00.000Z',
        url: 'https://admin.example/devices/dev-1',
      },
    ]);
    expect(m.subject).not.toMatch(/[\r\n]/);
    expect(m.subject).toContain('FIRING critical');
    expect(m.html).not.toContain('<script>');
    expect(m.html).toContain('&lt;script&gt;');
    expect(m.text).toContain('Device page: https://admin.example/devices/dev-1');
    expect(m.text).toContain('Value: 31.5');
  });
});

describe('storm control and retries', () => {
  const n = (id: string, at: number, messageId: string | null = null) => ({ id, createdAt: at, messageId });
  const ids = () => {
    let i = 0;
    return () => `g${++i}`;
  };

  it('sends the first alone, holds the rest of the minute and sends them together at its end', () => {
    const t = 1_000_000;
    expect(planStorm(t, null, [n('a', t), n('b', t + 1)], ids())).toEqual({
      kind: 'send',
      ids: ['a'],
      messageId: 'a',
      opensWindow: true,
      retry: false,
    });
    expect(planStorm(t + 10_000, t, [n('b', t + 1), n('c', t + 5000)], ids())).toEqual({
      kind: 'wait',
      until: t + STORM_WINDOW_MS,
    });
    expect(planStorm(t + STORM_WINDOW_MS, t, [n('b', t + 1), n('c', t + 5000)], ids())).toEqual({
      kind: 'send',
      ids: ['b', 'c'],
      messageId: 'g1',
      opensWindow: true,
      retry: false,
    });
    // After a quiet minute, the next one goes alone again.
    expect(planStorm(t + 5 * STORM_WINDOW_MS, t, [n('d', t + 4 * STORM_WINDOW_MS)], ids())).toMatchObject({
      ids: ['d'],
      messageId: 'd',
    });
  });

  it('sends a formed message again as it was, whatever the window', () => {
    const t = 1_000_000;
    expect(planStorm(t + 1, t, [n('x', t - 5), n('b', t - 4, 'g7'), n('c', t - 3, 'g7')], ids())).toEqual({
      kind: 'send',
      ids: ['b', 'c'],
      messageId: 'g7',
      opensWindow: false,
      retry: true,
    });
  });

  it('backs off exponentially with jitter and gives up after max attempts or age', () => {
    const t = 0;
    expect(planRetry(1, t, t, () => 1)).toBe(RETRY.baseMs);
    expect(planRetry(1, t, t, () => 0)).toBe(RETRY.baseMs / 2);
    expect(planRetry(3, t, t, () => 1)).toBe(4 * RETRY.baseMs);
    expect(planRetry(30 - 1, t, t, () => 1)).toBeNull();
    expect(planRetry(9, t, t, () => 1)).toBe(RETRY.maxDelayMs);
    expect(planRetry(2, t, RETRY.maxAgeMs, () => 1)).toBeNull();
  });
});
