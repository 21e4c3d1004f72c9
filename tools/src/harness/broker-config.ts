import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './repo-root.js';

/**
 * backend/mqttserver/mosquitto.conf rendered for a machine other than the container: the tests and a
 * local stack run the very file that ships, with their own paths and ports. The same rewrite as the
 * image's docker-entrypoint.sh (a directive's value is replaced by its first word), plus listeners.
 */

export const BROKER_DIR = path.join(REPO_ROOT, 'backend/mqttserver');
export const BROKER_CONFIG_TEMPLATE = path.join(BROKER_DIR, 'mosquitto.conf');
export const BROKER_ACL_FILE = path.join(BROKER_DIR, 'acl');
export const MAKE_DEV_CERTS = path.join(BROKER_DIR, 'make-dev-certs.sh');

/** The template's listener ports: 1883 plain (devices), 8883 TLS (devices), 1884 backend (services). */
const PLAIN_PORT = 1883;
const TLS_PORT = 8883;
const BACKEND_PORT = 1884;

export interface ListenerAt {
  port: number;
  /** Bind address (default: all interfaces). */
  host?: string;
  /**
   * More bind addresses with the same listener settings (e.g. a test network namespace's host side):
   * each gets a copy of the listener's block, since a Mosquitto listener binds one address.
   */
  alsoOn?: string[];
}

export interface BrokerConfigOptions {
  passwordFile: string;
  aclFile: string;
  dataDir: string;
  /** The plain device listener, or false to leave it out. */
  plain: ListenerAt | false;
  /** The TLS listener with the folder of ca.crt, server.crt and server.key, or false to leave it out. */
  tls: (ListenerAt & { certDir: string }) | false;
  /**
   * The backend listener of the service accounts, or false / left out to leave it out (the test harness
   * writes its own `listener` line, which then plays this part).
   */
  backend?: ListenerAt | false;
  /** Adds `pid_file` so `npm run device` can reload this broker (MOSQUITTO_PID_FILE). */
  pidFile?: string;
  /**
   * Directives to leave out because the including config sets them already: Mosquitto refuses a second
   * value of string options (e.g. the test harness's own `log_timestamp_format`).
   */
  omit?: string[];
}

/** Config values end at whitespace for Mosquitto, so a path with some would silently mean another file. */
function checkedPath(what: string, value: string): string {
  if (/\s/.test(value)) throw new Error(`${what} must not contain whitespace: ${JSON.stringify(value)}`);
  return path.resolve(value);
}

export function renderBrokerConfig(template: string, o: BrokerConfigOptions): string {
  const values: Record<string, string> = {
    password_file: checkedPath('passwordFile', o.passwordFile),
    acl_file: checkedPath('aclFile', o.aclFile),
    persistence_location: checkedPath('dataDir', o.dataDir),
  };
  const certDir = o.tls ? checkedPath('tls.certDir', o.tls.certDir) : undefined;
  const out: string[] = [];
  let skipping = false;
  let listenersSeen = false;
  // The open listener block, to be repeated for its `alsoOn` addresses when it ends.
  let block: { target: ListenerAt; lines: string[] } | undefined;
  const closeBlock = (): void => {
    if (!block) return;
    const { target, lines } = block;
    block = undefined;
    for (const host of target.alsoOn ?? []) out.push('', `listener ${target.port} ${host}`, ...lines);
  };
  for (const line of template.split('\n')) {
    const words = line.trim().split(/\s+/);
    const directive = line.startsWith('#') ? '' : (words[0] ?? '');
    if (directive === 'listener') {
      closeBlock();
      if (!listenersSeen && o.pidFile) out.push(`pid_file ${checkedPath('pidFile', o.pidFile)}`, '');
      listenersSeen = true;
      const port = Number(words[1]);
      const target =
        port === PLAIN_PORT
          ? o.plain
          : port === TLS_PORT
            ? o.tls
            : port === BACKEND_PORT
              ? (o.backend ?? false)
              : undefined;
      if (target === undefined) throw new Error(`unexpected listener in the template: ${line}`);
      skipping = target === false;
      if (target !== false) {
        out.push(`listener ${target.port}${target.host ? ` ${target.host}` : ''}`);
        block = { target, lines: [] };
      }
      continue;
    }
    if (skipping || o.omit?.includes(directive)) continue;
    const value = values[directive];
    let rendered = line;
    if (value !== undefined) rendered = `${directive} ${value}`;
    else if (certDir && ['cafile', 'certfile', 'keyfile'].includes(directive))
      rendered = `${directive} ${path.join(certDir, path.basename(words[1] ?? ''))}`;
    out.push(rendered);
    if (block && directive !== '') block.lines.push(rendered);
  }
  closeBlock();
  return out.join('\n');
}

/** renderBrokerConfig of the shipped backend/mqttserver/mosquitto.conf. */
export function renderShippedBrokerConfig(o: BrokerConfigOptions): string {
  return renderBrokerConfig(readFileSync(BROKER_CONFIG_TEMPLATE, 'utf8'), o);
}

/**
 * The shipped config's per-client message limits (max_inflight_messages, max_queued_*), for the tests'
 * anonymous brokers: the receiver's batch across messages and a stopped replica's backlog depend on them.
 */
export function shippedBrokerLimits(): string {
  return readFileSync(BROKER_CONFIG_TEMPLATE, 'utf8')
    .split('\n')
    .filter((line) => /^(max_inflight_messages|max_queued_messages|max_queued_bytes)\s/.test(line))
    .join('\n');
}
