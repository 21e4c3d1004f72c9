import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMailCatcher, type MailCatcher } from '../src/local-stack/mail-catcher.js';

/*
 * The local stack's mail catcher on real sockets: nodemailer sends as the web admin will (SMTP_URL), the
 * mail lands as an .eml file and on the listing page, escaped.
 */
let dir: string;
let catcher: MailCatcher;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'mail-catcher-'));
  // Port 0: the kernel picks, so parallel runs and a developer's own `npm start` never collide.
  catcher = await startMailCatcher({ dir: path.join(dir, 'mail'), smtpPort: 0, httpPort: 0 });
});
afterAll(async () => {
  await catcher?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('mail catcher', () => {
  it('keeps a sent mail as .eml and lists it, newest first, with every value escaped', async () => {
    const transport = nodemailer.createTransport(catcher.smtpUrl);
    await transport.sendMail({
      from: 'sensorfleet <alerts@sensorfleet.local>',
      to: 'ops@example.com',
      subject: 'first',
      text: 'older mail',
    });
    await transport.sendMail({
      from: 'sensorfleet <alerts@sensorfleet.local>',
      to: 'ops@example.com',
      subject: '[critical] Greenhouse too hot <img src=x onerror=alert(1)>',
      text: 'greenhouse-01: temperature 29.4 °C > 28 °C since 12:04 UTC\n<script>alert(1)</script>',
    });
    transport.close();

    const files = readdirSync(path.join(dir, 'mail')).filter((f) => f.endsWith('.eml'));
    expect(files).toHaveLength(2);
    const raw = files.map((f) => readFileSync(path.join(dir, 'mail', f), 'utf8')).join('\n');
    expect(raw).toContain('Subject: [critical] Greenhouse too hot');

    const res = await fetch(catcher.webUrl);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    const page = await res.text();
    expect(page).toContain('[critical] Greenhouse too hot &lt;img src=x onerror=alert(1)&gt;');
    expect(page).toContain('temperature 29.4 °C &gt; 28 °C');
    expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(page).not.toContain('<img src=x');
    expect(page).not.toContain('<script>');
    expect(page).toContain('ops@example.com');
    expect(page).toContain('alerts@sensorfleet.local');
    expect(page.indexOf('Greenhouse too hot')).toBeLessThan(page.indexOf('older mail'));

    const eml = /href="(\/mail\/[^"]+\.eml)"/.exec(page)?.[1];
    const download = await fetch(new URL(eml!, catcher.webUrl));
    expect(download.headers.get('content-type')).toBe('message/rfc822');
    expect(await download.text()).toContain('Subject: [critical] Greenhouse too hot');
    expect((await fetch(new URL('/mail/..%2F..%2Fetc%2Fpasswd', catcher.webUrl))).status).toBe(404);
  });

  it('takes another port when the preferred one is busy', async () => {
    const busy = net.createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const taken = (busy.address() as net.AddressInfo).port;
    const second = await startMailCatcher({ dir: path.join(dir, 'mail2'), smtpPort: taken, httpPort: taken });
    try {
      expect(second.smtpUrl).toMatch(/^smtp:\/\/127\.0\.0\.1:\d+$/);
      expect(second.smtpUrl).not.toBe(`smtp://127.0.0.1:${taken}`);
      expect((await fetch(second.webUrl)).status).toBe(200);
    } finally {
      await second.stop();
      busy.close();
    }
  });
});
