import type { AlertWebhookBody } from '@sensorfleet/shared/schemas/alerts';
import { escapeHtml } from '../pages/html.js';

/** What a mail of one notification, or of a group of them, says. */
export interface MailContent {
  subject: string;
  text: string;
  html: string;
}

/** CR, LF and other control characters cannot end up in a header (no injected headers or recipients). */
export function headerValue(v: string): string {
  // eslint-disable-next-line no-control-regex
  return v.replace(/[\r\n\u0000-\u001f\u007f]+/g, ' ').trim();
}

export function devicePageUrl(publicUrl: string | undefined, deviceId: string): string | undefined {
  if (!publicUrl) return undefined;
  return `${publicUrl.replace(/\/+$/, '')}/devices/${encodeURIComponent(deviceId)}`;
}

function stateWord(n: AlertWebhookBody): string {
  if (n.state === 'resolved') return n.resolvedWhileOffline ? 'RESOLVED (while offline)' : 'RESOLVED';
  return 'FIRING';
}

function lines(n: AlertWebhookBody): [string, string][] {
  return [
    ['Rule', n.ruleName],
    ['Device', n.deviceId],
    ['State', stateWord(n)],
    ['Severity', n.severity],
    ['Value', n.value === null ? '—' : String(n.value)],
    ['Time', n.at],
    ['Device page', n.url ?? `/devices/${encodeURIComponent(n.deviceId)} in the web admin`],
  ];
}

function block(n: AlertWebhookBody): { text: string; html: string } {
  const rows = lines(n);
  return {
    text: rows.map(([k, v]) => `${k}: ${v}`).join('\n'),
    html:
      '<table>' +
      rows
        .map(([k, v]) => {
          const cell =
            k === 'Device page' && n.url
              ? `<a href="${escapeHtml(n.url)}">${escapeHtml(n.url)}</a>`
              : escapeHtml(v);
          return `<tr><th align="left">${escapeHtml(k)}</th><td>${cell}</td></tr>`;
        })
        .join('') +
      '</table>',
  };
}

export function mailContent(items: readonly AlertWebhookBody[]): MailContent {
  if (items.length === 1) {
    const n = items[0]!;
    const b = block(n);
    return {
      subject: headerValue(`[sensorfleet] ${stateWord(n)} ${n.severity}: ${n.ruleName} on ${n.deviceId}`),
      text: `${b.text}\n\nNotification ${n.id}\n`,
      html: `<!doctype html><html><body>${b.html}<p>Notification ${escapeHtml(n.id)}</p></body></html>`,
    };
  }
  const blocks = items.map(block);
  return {
    subject: headerValue(`[sensorfleet] ${items.length} alert notifications in the last minute`),
    text:
      `${items.length} alert notifications (grouped: more than one in a minute)\n\n` +
      blocks.map((b, i) => `${b.text}\nNotification ${items[i]!.id}`).join('\n\n') +
      '\n',
    html:
      `<!doctype html><html><body><p>${items.length} alert notifications (grouped: more than one in a minute)</p>` +
      blocks.map((b) => b.html).join('<hr>') +
      '</body></html>',
  };
}
