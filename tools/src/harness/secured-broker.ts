import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { generatePassword } from '@sensorfleet/mqttserver/provisioning/credentials';
import { PasswordFile } from '@sensorfleet/mqttserver/provisioning/password-file';
import { findBinary } from './binaries.js';
import { BROKER_ACL_FILE, MAKE_DEV_CERTS, renderShippedBrokerConfig } from './broker-config.js';
import { startWithFreshPorts } from './managed-server.js';
import { MosquittoServer } from './mosquitto.js';
import { freePort } from './ports.js';
import { harnessRoot } from './run-root.js';
import { waitFor } from './wait-for.js';

export interface SecuredBrokerOptions {
  /** Also start the TLS listener, with dev certificates from make-dev-certs.sh. Default false. */
  tls?: boolean;
  /** Extra name for the server certificate (besides localhost and 127.0.0.1). */
  tlsHostname?: string;
  /** Persistent dir (accounts, retained messages and certificates survive restarts). Default: a temp dir. */
  dir?: string;
  /** Port of the backend listener (service accounts). Default: a free port. */
  port?: number;
  /** Port of the plain device listener. Default: a free port. */
  devicePort?: number;
  /**
   * More addresses for the plain device listener besides 127.0.0.1 (same port, same settings), e.g. a
   * NetworkNamespace's `hostAddress` for a device inside the namespace.
   */
  deviceAlsoOn?: string[];
  log?: (line: string) => void;
}

/** Runs make-dev-certs.sh (the script the broker image uses) into `dir`. */
export function makeDevCerts(dir: string, name = ''): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('sh', [MAKE_DEV_CERTS, dir, name], (err, _stdout, stderr) => {
      if (err) reject(new Error(`make-dev-certs.sh failed: ${err.message}\n${stderr}`));
      else resolve();
    });
  });
}

/**
 * A private Mosquitto running the shipped backend/mqttserver/mosquitto.conf and acl (no anonymous
 * access, accounts from a password file), for tests and local runs. The harness's own listener is the
 * backend listener (`url`, for service accounts); the plain device listener (`deviceUrl`) and, when
 * asked for, the TLS listener get their own free ports. Mosquitto writes `pidFile`, so
 * `npm run device` can reload it through MOSQUITTO_PID_FILE like a real deployment.
 */
export class SecuredBroker {
  private constructor(
    readonly server: MosquittoServer,
    readonly dir: string,
    readonly passwordFile: string,
    readonly aclFile: string,
    readonly pidFile: string,
    readonly certDir: string | undefined,
    readonly tlsPort: number | undefined,
    readonly devicePort: number,
    readonly deviceAlsoOn: string[],
  ) {}

  static start(opts: SecuredBrokerOptions = {}): Promise<SecuredBroker> {
    // Its device and TLS listeners' ports are chosen before Mosquitto starts; the server's own retry only
    // moves its main port. With the device port given there is nothing to choose again.
    if (opts.devicePort !== undefined) return SecuredBroker.startOnce(opts);
    return startWithFreshPorts('secured broker', () => SecuredBroker.startOnce(opts), opts.log);
  }

  private static async startOnce(opts: SecuredBrokerOptions): Promise<SecuredBroker> {
    const dir = opts.dir ? path.resolve(opts.dir) : mkdtempSync(path.join(harnessRoot(), 'secured-broker-'));
    const passwordFile = path.join(dir, 'auth', 'passwd');
    const dataDir = path.join(dir, 'data');
    const pidFile = path.join(dir, 'mosquitto.pid');
    mkdirSync(path.dirname(passwordFile), { recursive: true });
    mkdirSync(dataDir, { recursive: true });
    // Like the image's entrypoint: Mosquitto needs the file; an existing one keeps its accounts.
    if (!existsSync(passwordFile)) writeFileSync(passwordFile, '', { mode: 0o600 });
    let tls: { port: number; host: string; certDir: string } | false = false;
    if (opts.tls) {
      const certDir = path.join(dir, 'certs');
      if (!existsSync(path.join(certDir, 'ca.crt'))) await makeDevCerts(certDir, opts.tlsHostname);
      tls = { port: await freePort(), host: '127.0.0.1', certDir };
    }
    const devicePort = opts.devicePort ?? (await freePort());
    const extraConfig = renderShippedBrokerConfig({
      passwordFile,
      aclFile: BROKER_ACL_FILE,
      dataDir,
      pidFile,
      plain: { port: devicePort, host: '127.0.0.1', alsoOn: opts.deviceAlsoOn ?? [] },
      tls,
      backend: false, // the harness's own `listener PORT 127.0.0.1`
      omit: ['log_timestamp_format'], // the harness sets it
    });
    const server = await MosquittoServer.start({
      allowAnonymous: false,
      extraConfig,
      dir: path.join(dir, 'mosquitto'),
      ...(opts.port ? { port: opts.port } : {}),
      ...(opts.log ? { log: opts.log } : {}),
    });
    return new SecuredBroker(
      server,
      dir,
      passwordFile,
      BROKER_ACL_FILE,
      pidFile,
      tls ? tls.certDir : undefined,
      tls ? tls.port : undefined,
      devicePort,
      opts.deviceAlsoOn ?? [],
    );
  }

  /** mqtt://127.0.0.1:PORT (backend listener: service accounts pick their own client ids). */
  get url(): string {
    return this.server.url;
  }

  /** mqtt://127.0.0.1:PORT (plain device listener: the client id is the user name). */
  get deviceUrl(): string {
    return `mqtt://127.0.0.1:${this.devicePort}`;
  }

  /** mqtt://HOST:PORT: the plain device listener on one of the `deviceAlsoOn` addresses. */
  deviceUrlAt(host: string): string {
    if (!this.deviceAlsoOn.includes(host)) throw new Error(`the device listener is not on ${host}`);
    return `mqtt://${host}:${this.devicePort}`;
  }

  /** mqtts://localhost:PORT (TLS listener), when started with tls. */
  get tlsUrl(): string {
    if (this.tlsPort === undefined) throw new Error('SecuredBroker was started without tls');
    return `mqtts://localhost:${this.tlsPort}`;
  }

  /** The dev CA clients must trust for tlsUrl. */
  get caFile(): string {
    if (this.certDir === undefined) throw new Error('SecuredBroker was started without tls');
    return path.join(this.certDir, 'ca.crt');
  }

  /** How often the broker has reloaded its config (SIGHUP) since its log began. */
  reloads(): number {
    let log = '';
    try {
      log = readFileSync(this.server.logFile, 'utf8');
    } catch {
      return 0;
    }
    return log.split('Reloading config.').length - 1;
  }

  /** Waits until the broker has reloaded more than `count` times. */
  async waitForReload(count: number, timeoutMs = 10_000): Promise<void> {
    await waitFor('the broker to reload its config', timeoutMs, () => this.reloads() > count, 25);
    // The reload runs in the broker's main loop right after that line, so any packet sent from now on
    // is handled by the reloaded broker.
  }

  /** Sets an account (password generated when not given), reloads the broker and waits for it. */
  async setAccount(user: string, password = generatePassword()): Promise<string> {
    await this.setAccounts([[user, password]]);
    return password;
  }

  /**
   * Sets many accounts with one reload (a reload per account would take a fleet of 1000 minutes);
   * returns user → password, generated where none was given.
   */
  async setAccounts(accounts: (string | [user: string, password: string])[]): Promise<Map<string, string>> {
    const before = this.reloads();
    const file = new PasswordFile(this.passwordFile, findBinary('mosquitto_passwd', 'MOSQUITTO_PASSWD_BIN'));
    const set = new Map<string, string>();
    for (const a of accounts) {
      const [user, password] = typeof a === 'string' ? [a, generatePassword()] : a;
      await file.set(user, password, { mustBeNew: false });
      set.set(user, password);
    }
    const pid = this.server.pid;
    if (pid === undefined) throw new Error('broker is not running');
    process.kill(pid, 'SIGHUP');
    await this.waitForReload(before);
    return set;
  }

  destroy(): Promise<void> {
    return this.server.destroy();
  }
}
