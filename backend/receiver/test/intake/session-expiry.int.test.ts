import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SecuredBroker, sleep, waitFor } from '@sensorfleet/tools/harness';
import { createLogger, receiverClientId, topicFilters, topics } from '@sensorfleet/shared';
import { ReceiverMqtt } from '../../src/intake/receiver-mqtt.js';

/**
 * A receiver replica's MQTT 5 session expiry against the shipped Mosquitto config (whose
 * `persistent_client_expiration` is 14 days): a replica killed -9 for good stops being handed a share of
 * the shared subscription once its session expired, and one back within the expiry resumes its session
 * and gets what was queued for it; a replica that leaves (scaling down) ends its session at once. The
 * replica that dies is a real process (the built ReceiverMqtt,
 * dist/), killed with SIGKILL: no DISCONNECT, the broker only sees the TCP connection go.
 */
const EXPIRY_S = 2;
const receiverDist = fileURLToPath(new URL('../../dist/intake/receiver-mqtt.js', import.meta.url));
const sharedTelemetry = `$share/receivers/${topicFilters.telemetry}`;

/** A replica in its own process: prints each message's payload on a line (committed at once). */
function replicaProcess(url: string, password: string, replicaId: string, expiryS: number): ChildProcess {
  const code = `
    import { ReceiverMqtt } from ${JSON.stringify(receiverDist)};
    import { createLogger } from '@sensorfleet/shared';
    const r = new ReceiverMqtt({
      url: process.env.URL, username: 'receiver', password: process.env.PASSWORD,
      replicaId: process.env.REPLICA_ID, sessionExpirySeconds: ${expiryS},
      reconnectMinMs: 200, reconnectMaxMs: 1000,
      subscriptions: [${JSON.stringify(sharedTelemetry)}],
      log: createLogger('replica', 'warn', { pretty: false, stderr: true }),
      onMessage: (topic, payload, retained, receipt) => {
        receipt.committed();
        process.stdout.write(payload.toString() + '\\n');
      },
    });
    await r.start();
  `;
  return spawn(process.execPath, ['--input-type=module', '-e', code], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    env: { PATH: process.env.PATH, URL: url, PASSWORD: password, REPLICA_ID: replicaId },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

function linesOf(child: ChildProcess, into: string[]): void {
  let rest = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    const parts = (rest + chunk.toString()).split('\n');
    rest = parts.pop()!;
    into.push(...parts);
  });
}

describe('receiver session expiry (MQTT 5, real Mosquitto)', () => {
  let broker: SecuredBroker;
  let survivor: ReceiverMqtt;
  let receiverAccount: { username: string; password: string };
  let device: MqttClient;
  let receiverPassword: string;
  const children: ChildProcess[] = [];
  const bySurvivor: string[] = [];
  const online = new Map<string, string>();
  let sent = 0;

  /** Publishes `n` telemetry messages (QoS 1, each PUBACKed by the broker); returns their payloads. */
  async function publish(n: number): Promise<string[]> {
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const p = `m${++sent}`;
      await device.publishAsync(topics.telemetry('dev-1'), p, { qos: 1 });
      out.push(p);
    }
    return out;
  }

  async function startReplica(id: string, into: string[], expiryS = EXPIRY_S): Promise<ChildProcess> {
    online.delete(id);
    const child = replicaProcess(broker.url, receiverPassword, id, expiryS);
    children.push(child);
    linesOf(child, into);
    await waitFor(`${id} subscribed`, 10_000, async () => online.get(id) === 'true');
    return child;
  }

  async function kill(child: ChildProcess): Promise<void> {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  beforeEach(async () => {
    broker = await SecuredBroker.start();
    const passwords = await broker.setAccounts(['receiver', 'dev-1']);
    receiverPassword = passwords.get('receiver')!;
    receiverAccount = { username: 'receiver', password: receiverPassword };
    device = await mqtt.connectAsync(broker.deviceUrl, {
      clientId: 'dev-1',
      username: 'dev-1',
      password: passwords.get('dev-1')!,
    });
    device.on('message', (topic, payload) => online.set(topic.split('/')[1]!, payload.toString()));
    await device.subscribeAsync(topicFilters.receiversOnline, { qos: 1 });
    survivor = new ReceiverMqtt({
      url: broker.url,
      username: 'receiver',
      password: receiverPassword,
      replicaId: 'r1',
      sessionExpirySeconds: EXPIRY_S,
      reconnectMinMs: 200,
      reconnectMaxMs: 1000,
      subscriptions: [sharedTelemetry],
      log: createLogger('r1', 'warn', { pretty: false }),
      onMessage: (_topic, payload, _retained, receipt) => {
        receipt.committed();
        bySurvivor.push(payload.toString());
        return undefined;
      },
    });
    await survivor.start();
    await waitFor('r1 subscribed', 10_000, async () => online.get('r1') === 'true');
  });

  afterEach(async () => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) await kill(c);
    await survivor.stop();
    await device.endAsync(true);
    await broker.server.stop();
    bySurvivor.length = 0;
    online.clear();
  });

  it('hands a replica killed for good no share once its session expired: the other one gets every message', async () => {
    const byLost: string[] = [];
    const lost = await startReplica('r2', byLost);
    const shared = await publish(20);
    await waitFor('20 messages taken', 10_000, async () => bySurvivor.length + byLost.length === 20);
    expect(byLost.length).toBeGreaterThan(0); // both replicas share the subscription

    await kill(lost);
    // Within the expiry the dead replica's session still takes its turns (they wait there for it).
    const whileKept = await publish(20);
    await sleep(500);
    const keptTaken = whileKept.filter((p) => bySurvivor.includes(p)).length;
    expect(keptTaken).toBeLessThan(20);

    await sleep(EXPIRY_S * 1000 + 1500); // Mosquitto checks session expiry about once a second
    const afterExpiry = await publish(20);
    await waitFor('every message after the expiry taken by r1', 10_000, async () =>
      afterExpiry.every((p) => bySurvivor.includes(p)),
    );
    expect(shared.filter((p) => bySurvivor.includes(p) || byLost.includes(p))).toEqual(shared);
  });

  it('gives a replica back within its expiry the messages queued for it while it was away', async () => {
    const before: string[] = [];
    // A longer expiry here: a loaded machine may take more than EXPIRY_S to start the process again.
    const first = await startReplica('r2', before, 30);
    await kill(first);
    const whileAway = await publish(20);
    await sleep(300);
    const queued = whileAway.filter((p) => !bySurvivor.includes(p));
    expect(queued.length).toBeGreaterThan(0); // r2's session kept its turns

    const after: string[] = [];
    await startReplica('r2', after, 30); // well within the expiry of the kill
    await waitFor('the queued messages delivered to r2', 10_000, async () =>
      queued.every((p) => after.includes(p)),
    );
    expect(whileAway.filter((p) => bySurvivor.includes(p) || after.includes(p))).toEqual(whileAway);
  });

  it('a replica that leaves gets no share from then on and leaves no session behind', async () => {
    const byLeaving: string[] = [];
    const leaving = new ReceiverMqtt({
      url: broker.url,
      username: 'receiver',
      password: receiverPassword,
      replicaId: 'r2',
      sessionExpirySeconds: 300, // the default: only the leave ends the session here
      reconnectMinMs: 200,
      reconnectMaxMs: 1000,
      subscriptions: [sharedTelemetry],
      log: createLogger('r2', 'warn', { pretty: false }),
      onMessage: (_topic, payload, _retained, receipt) => {
        receipt.committed();
        byLeaving.push(payload.toString());
        return undefined;
      },
    });
    await leaving.start();
    await waitFor('r2 subscribed', 10_000, async () => online.get('r2') === 'true');
    const before = await publish(20);
    await waitFor('20 messages taken', 10_000, async () => bySurvivor.length + byLeaving.length === 20);
    expect(byLeaving.length).toBeGreaterThan(0);

    await leaving.leave(300);
    leaving.pause();
    await leaving.stop();
    const after = await publish(20);
    await waitFor('every message after the leave taken by r1', 5000, async () =>
      after.every((p) => bySurvivor.includes(p)),
    );
    expect(before.filter((p) => bySurvivor.includes(p) || byLeaving.includes(p))).toEqual(before);
    // Its client id finds no session: nothing is kept for it.
    const probe = mqtt.connect(broker.url, {
      clientId: receiverClientId('r2'),
      protocolVersion: 5,
      clean: false,
      reconnectPeriod: 0,
      properties: { sessionExpiryInterval: 0 },
      ...receiverAccount,
    });
    const connack = await new Promise<{ sessionPresent: boolean }>((resolve, reject) => {
      probe.once('connect', resolve);
      probe.once('error', reject);
    });
    expect(connack.sessionPresent).toBe(false);
    await probe.endAsync();
  });
});
