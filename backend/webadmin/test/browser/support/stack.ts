import { spawn } from 'node:child_process';
import path from 'node:path';
import { freePort, MariaDbServer, MosquittoServer, RedisServer } from '@sensorfleet/tools/harness';
import { NodeService, REPO_ROOT } from '@sensorfleet/tools/harness';
import mqtt, { type MqttClient } from 'mqtt';
import { SmtpSink } from '../../support/alert-sinks.js';

/**
 * The real system for the browser tests, every part its own process as in production: private Redis,
 * Mosquitto and MariaDB, the receiver, the web admin (built service, pages included) and one simulated
 * device (sensor + mqtthandler). The device can be taken offline and back.
 */
export class BrowserStack {
  private constructor(
    readonly deviceId: string,
    readonly redis: RedisServer,
    readonly broker: MosquittoServer,
    readonly db: MariaDbServer,
    readonly databaseUrl: string,
    readonly receiver: NodeService,
    readonly webadmin: NodeService,
    readonly url: string,
    readonly sensor: NodeService,
    readonly mqtthandler: NodeService,
    /** The SMTP server the web admin sends alert e-mails to. */
    readonly smtp: SmtpSink,
  ) {}

  static async start(opts: { deviceId: string; username: string; password: string }): Promise<BrowserStack> {
    const quiet = { LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn' };
    const [redis, broker, db] = await Promise.all([
      RedisServer.start(),
      MosquittoServer.start(),
      MariaDbServer.start(),
    ]);
    const databaseUrl = await db.createDatabase();
    const receiver = await NodeService.start('backend/receiver', {
      env: { ...quiet, DATABASE_URL: databaseUrl, MQTT_URL: broker.url, INGEST_MAX_WAIT_MS: '20' },
    });
    const httpPort = await freePort();
    const url = `http://127.0.0.1:${httpPort}`;
    const smtp = await SmtpSink.start();
    const webadmin = await NodeService.start('backend/webadmin', {
      env: {
        ...quiet,
        DATABASE_URL: databaseUrl,
        MQTT_URL: broker.url,
        HTTP_PORT: String(httpPort),
        HTTP_HOST: '127.0.0.1',
        PUBLIC_URL: url,
        COMMAND_POLL_INTERVAL: '300ms',
        SMTP_URL: smtp.url,
        ALERT_MAIL_FROM: 'sensorfleet <alerts@sensorfleet.test>',
        ALERT_EVAL_INTERVAL_MS: '500',
      },
    });
    await addUser(databaseUrl, opts.username, opts.password);
    const device = { ...quiet, DEVICE_ID: opts.deviceId, REDIS_URL: redis.url };
    const sensor = await NodeService.start('device/sensor', {
      env: { ...device, SENSOR_DRIVER: 'simulated', SENSOR_INTERVAL_MS: '1000' },
    });
    const mqtthandler = await NodeService.start('device/mqtthandler', {
      env: {
        ...device,
        MQTT_URL: broker.url,
        MQTT_RECONNECT_MIN_MS: '200',
        MQTT_RECONNECT_MAX_MS: '1000',
        MQTT_BATCH_MAX_WAIT_MS: '50',
        STATE_PUBLISH_INTERVAL_MS: '5000',
      },
    });
    return new BrowserStack(
      opts.deviceId,
      redis,
      broker,
      db,
      databaseUrl,
      receiver,
      webadmin,
      url,
      sensor,
      mqtthandler,
      smtp,
    );
  }

  /** An MQTT client of the test (the harness broker takes anonymous clients). */
  client(): Promise<MqttClient> {
    return mqtt.connectAsync(this.broker.url, {
      clientId: `browser-test-${Math.random().toString(36).slice(2)}`,
    });
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.sensor.stop(), this.mqtthandler.stop()]);
    await Promise.allSettled([this.webadmin.stop(), this.receiver.stop()]);
    await Promise.allSettled([this.redis.stop(), this.broker.stop(), this.db.stop(), this.smtp.close()]);
  }
}

/** `npm run user -- add <name> --role admin`, the password on stdin: the way an operator makes one. */
function addUser(databaseUrl: string, username: string, password: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [path.join(REPO_ROOT, 'backend/webadmin/dist/cli/user.js'), 'add', username, '--role', 'admin'],
      {
        env: { PATH: process.env.PATH, DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn' },
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`user add exited ${code}: ${out}`)),
    );
    child.stdin.end(`${password}\n`);
  });
}
