import { createTransport, type Transporter } from 'nodemailer';
import { headerValue, type MailContent } from './alert-message.js';

export interface MailResult {
  ok: boolean;
  error?: string;
}

/**
 * Alert mails through SMTP_URL (nodemailer; `smtp://` upgrades with STARTTLS when the server offers it,
 * `smtps://` is TLS from the start). Every header value is one line: CR/LF are stripped, whatever a rule
 * name or device id contains. Short timeouts: a dead mail server must not hold the dispatcher for minutes.
 */
export class MailSender {
  private readonly transport: Transporter;

  constructor(
    smtpUrl: string,
    private readonly from: string,
  ) {
    this.transport = createTransport({
      url: smtpUrl,
      connectionTimeout: 5000,
      greetingTimeout: 5000,
      socketTimeout: 10_000,
    });
  }

  async send(to: string, content: MailContent, messageId: string): Promise<MailResult> {
    try {
      await this.transport.sendMail({
        from: headerValue(this.from),
        to: headerValue(to),
        subject: headerValue(content.subject),
        text: content.text,
        html: content.html,
        // The notification's (or group's) id: a mail sent again after a crash carries the same Message-ID.
        messageId: `<${headerValue(messageId)}@sensorfleet.alerts>`,
        headers: { 'X-Sensorfleet-Notification': headerValue(messageId) },
      });
      return { ok: true };
    } catch (err) {
      return { ok: false, error: (err as Error).message.slice(0, 400) };
    }
  }

  close(): void {
    this.transport.close();
  }
}
