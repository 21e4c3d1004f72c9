import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo, Server } from 'node:net';
import path from 'node:path';
import { simpleParser, type AddressObject } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { html, path as urlPath, type SafeHtml } from '@sensorfleet/webadmin/pages/html';

/**
 * A mail catcher for the local stack: an SMTP server on loopback that accepts every message (any or no
 * login, no TLS) and keeps it as an .eml file, and a small web page listing what arrived, newest first.
 * It lets a newcomer watch an alert e-mail arrive without a real mail account; nothing leaves the machine.
 */
export interface MailCatcherOptions {
  /** Where the .eml files go (created if missing), e.g. .data/mail. */
  dir: string;
  /** Preferred ports; a taken one is replaced by one the kernel picks. Defaults 2525 and 8025. */
  smtpPort?: number;
  httpPort?: number;
  log?: (line: string) => void;
}

export interface MailCatcher {
  /** For SMTP_URL: `smtp://127.0.0.1:<port>` (plain SMTP; any credentials are accepted). */
  smtpUrl: string;
  webUrl: string;
  stop(): Promise<void>;
}

/** A message larger than this is refused: an alert mail is a few KB. */
const MAX_BYTES = 5 * 1024 * 1024;
/** The page shows the newest this many. */
const SHOWN = 100;
const EML = /^[0-9]{13}-[0-9a-f]{8}\.eml$/;

interface Caught {
  file: string;
  subject: string;
  from: string;
  to: string;
  date: Date | undefined;
  text: string;
}

function listen(server: Server | http.Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      if (err.code === 'EADDRINUSE' && port !== 0) resolve(listen(server, 0));
      else reject(err);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, '127.0.0.1');
  });
}

const addresses = (a: AddressObject | AddressObject[] | undefined) =>
  (Array.isArray(a) ? a : a ? [a] : []).map((x) => x.text).join(', ');

/** Parsed once per file: the files never change after they are written. */
const parsed = new Map<string, Caught>();
async function readCaught(dir: string, file: string): Promise<Caught> {
  const key = path.join(dir, file);
  const known = parsed.get(key);
  if (known) return known;
  const mail = await simpleParser(await readFile(key));
  const caught: Caught = {
    file,
    subject: mail.subject ?? '(no subject)',
    from: addresses(mail.from),
    to: addresses(mail.to),
    date: mail.date,
    text: (mail.text ?? '').trim(),
  };
  parsed.set(key, caught);
  return caught;
}

/** The listing: every value comes from a mail, so all of it goes through the escaping `html` template. */
export function mailListHtml(mails: Caught[], dir: string): SafeHtml {
  const rows = mails.map(
    (m) =>
      html`<article>
        <h2>${m.subject}</h2>
        <p class="meta">
          <b>From</b> ${m.from || '—'} · <b>To</b> ${m.to || '—'} · <b>Date</b>
          ${m.date ? m.date.toISOString().replace('T', ' ').slice(0, 19) + ' UTC' : '—'} ·
          <a href="${urlPath`/mail/${m.file}`}">.eml</a>
        </p>
        <pre>${m.text || '(no text part)'}</pre>
      </article>`,
  );
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta http-equiv="refresh" content="5" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>Caught mail (${mails.length})</title>
        <style>
          body {
            font:
              14px/1.45 system-ui,
              sans-serif;
            margin: 0 auto;
            max-width: 900px;
            padding: 16px;
            color: #1d2530;
            background: #f4f5f7;
          }
          article {
            background: #fff;
            border: 1px solid #e2e5ea;
            border-radius: 8px;
            padding: 12px 16px;
            margin: 12px 0;
          }
          h1 {
            font-size: 20px;
          }
          h2 {
            font-size: 16px;
            margin: 0 0 4px;
          }
          .meta {
            color: #677383;
            margin: 0 0 8px;
            overflow-wrap: anywhere;
          }
          pre {
            white-space: pre-wrap;
            overflow-wrap: anywhere;
            margin: 0;
            font-size: 13px;
          }
        </style>
      </head>
      <body>
        <h1>Caught mail</h1>
        <p class="meta">
          Every message sent to this SMTP server, newest first (the ${SHOWN} newest); the files are in
          <code>${dir}</code>. This page reloads every 5 s.
        </p>
        ${rows.length ? rows : html`<p>Nothing yet. An alert rule with an e-mail target sends here.</p>`}
      </body>
    </html>`;
}

export async function startMailCatcher(opts: MailCatcherOptions): Promise<MailCatcher> {
  const dir = path.resolve(opts.dir);
  mkdirSync(dir, { recursive: true });
  const log = opts.log ?? (() => {});

  const smtp = new SMTPServer({
    // Loopback only, for development: no TLS, and any login (or none) is fine.
    disabledCommands: ['STARTTLS'],
    authOptional: true,
    allowInsecureAuth: true,
    size: MAX_BYTES,
    logger: false,
    banner: 'sensorfleet mail catcher (local development only)',
    onAuth(auth, _session, callback) {
      callback(null, { user: auth.username ?? 'anyone' });
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        if ((stream as unknown as { sizeExceeded?: boolean }).sizeExceeded) {
          return callback(Object.assign(new Error('message too large'), { responseCode: 552 }));
        }
        const file = `${Date.now()}-${randomBytes(4).toString('hex')}.eml`;
        writeFile(path.join(dir, file), Buffer.concat(chunks)).then(
          () => {
            const to = session.envelope.rcptTo.map((r) => r.address).join(', ');
            log(`mail catcher: caught ${file} for ${to}`);
            callback();
          },
          (err: Error) => callback(err),
        );
      });
    },
  });
  smtp.on('error', (err) => log(`mail catcher: SMTP error: ${err.message}`));

  const web = http.createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const headers = {
        // The page shows mail as text; even so, nothing in it may load or run anything.
        'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
        'x-content-type-options': 'nosniff',
        'cache-control': 'no-store',
      };
      const file = url.pathname.startsWith('/mail/') ? url.pathname.slice('/mail/'.length) : '';
      if (file) {
        if (!EML.test(file)) return res.writeHead(404, headers).end('not found');
        const body = await readFile(path.join(dir, file)).catch(() => undefined);
        if (!body) return res.writeHead(404, headers).end('not found');
        return res.writeHead(200, { ...headers, 'content-type': 'message/rfc822' }).end(body);
      }
      if (url.pathname !== '/') return res.writeHead(404, headers).end('not found');
      // File names start with the arrival time in ms, so name order is arrival order.
      const files = (await readdir(dir))
        .filter((f) => EML.test(f))
        .sort()
        .reverse()
        .slice(0, SHOWN);
      const mails = (await Promise.all(files.map((f) => readCaught(dir, f).catch(() => undefined)))).filter(
        (m): m is Caught => m !== undefined,
      );
      res.writeHead(200, { ...headers, 'content-type': 'text/html; charset=utf-8' });
      res.end(mailListHtml(mails, dir).value);
    })().catch((err: unknown) => {
      log(`mail catcher: page failed: ${err instanceof Error ? err.message : String(err)}`);
      if (!res.headersSent) res.writeHead(500).end('mail catcher failed; see the log');
    });
  });

  const smtpPort = await listen(smtp.server, opts.smtpPort ?? 2525);
  let httpPort: number;
  try {
    httpPort = await listen(web, opts.httpPort ?? 8025);
  } catch (err) {
    await new Promise<void>((r) => smtp.close(() => r()));
    throw err;
  }
  return {
    smtpUrl: `smtp://127.0.0.1:${smtpPort}`,
    webUrl: `http://127.0.0.1:${httpPort}/`,
    stop: async () => {
      await Promise.all([
        new Promise<void>((r) => smtp.close(() => r())),
        new Promise<void>((r) => {
          web.closeAllConnections();
          web.close(() => r());
        }),
      ]);
    },
  };
}
