import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '@sensorfleet/mariadb';
import { RabbitMqAccounts } from '@sensorfleet/mqttserver/provisioning/rabbitmq-accounts';
import { OutboxStore } from '@sensorfleet/shared';
import {
  httpGet,
  MariaDbServer,
  NodeService,
  RabbitMqCluster,
  RedisServer,
  sleep,
  waitFor,
  type RabbitMqNode,
} from '@sensorfleet/tools/harness';
import { expectedValues } from './support/delivery-rig.js';

const QUEUE = 'sensorfleet.intake';
const quiet = { LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn' };
const RABBITMQCTL = path.join(process.env.RABBITMQ_BIN_DIR ?? '/usr/lib/rabbitmq/bin', 'rabbitmqctl');

/** Figures for the report (stderr, like the other resilience tests). */
const report = (line: string) => process.stderr.write(`[rabbitmq-intake] ${line}\n`);

// The scale-out deployment end to end on real processes: a device (mqtthandler) speaking MQTT to one
// node of a 3-node RabbitMQ cluster, two receivers competing on the AMQP quorum queue, MariaDB. Kill -9
// of the queue's leader node, and of a receiver: every seq stored exactly once. A source-004 device
// publishing through the cluster: nothing lost.
describe('RabbitMQ cluster intake (AMQP quorum queue, 2 receivers)', { timeout: 600_000 }, () => {
  let cluster: RabbitMqCluster;
  let db: MariaDbServer;
  let databaseUrl: string;
  let redisServer: RedisServer;
  let redis: Redis;
  let outbox: OutboxStore;
  const receivers: NodeService[] = [];
  let mqtthandler: NodeService;
  let deviceNode: RabbitMqNode;
  const deviceId = 'rmq-dev1';
  const passwords = new Map<string, string>();
  /** Nodes this test killed (and restarted). */
  const killed = new Set<RabbitMqNode>();

  const pw = (user: string) => `pw-${user}-${Math.random().toString(36).slice(2, 10)}`;

  async function startReceiver(i: number): Promise<NodeService> {
    // Each replica lists the nodes from a different one: they spread over the cluster.
    const nodes = [...cluster.nodes.slice(i), ...cluster.nodes.slice(0, i)];
    const amqpUrl = nodes
      .map((n) => `amqp://receiver:${passwords.get('receiver')}@127.0.0.1:${n.port}`)
      .join(',');
    return NodeService.start('backend/receiver', {
      label: `receiver-${i + 1}`,
      env: {
        ...quiet,
        DATABASE_URL: databaseUrl,
        RECEIVER_INTAKE: 'amqp',
        AMQP_URL: amqpUrl,
        AMQP_PREFETCH: '500',
        RECEIVER_REPLICA_ID: `r${i + 1}`,
        RECEIVER_RECONNECT_MIN_MS: '200',
        RECEIVER_RECONNECT_MAX_MS: '2000',
        INGEST_MAX_WAIT_MS: '20',
      },
    });
  }

  async function amqpHealthy(service: NodeService): Promise<boolean | string> {
    const { status, body } = await httpGet(service.healthUrl);
    return status === 200 ? true : body;
  }

  async function audit(device: string) {
    const pool = createPool(databaseUrl, { connectionLimit: 1 });
    try {
      const rows = (await pool.query(
        `SELECT sensor, COUNT(*) AS n, COUNT(DISTINCT seq) AS d, MIN(seq) AS lo, MAX(seq) AS hi,
           SUM(CASE sensor WHEN 'counter' THEN value <> seq ELSE 0 END) AS wrong
         FROM readings WHERE device_id = ? GROUP BY sensor ORDER BY sensor`,
        [device],
      )) as Record<string, number | string>[];
      return Object.fromEntries(
        rows.map((r) => [
          String(r.sensor),
          {
            n: Number(r.n),
            distinct: Number(r.d),
            min: Number(r.lo),
            max: Number(r.hi),
            wrong: Number(r.wrong),
          },
        ]),
      );
    } finally {
      await pool.end();
    }
  }

  async function maxStoredSeq(): Promise<number> {
    const rows = (await db.query(
      `SELECT COALESCE(MAX(seq), 0) AS m FROM ${new URL(databaseUrl).pathname.slice(1)}.readings
        WHERE device_id = '${deviceId}' AND sensor = 'counter'`,
    )) as { m: number | string }[];
    return Number(rows[0]?.m ?? 0);
  }

  /** Appends readings at `perSecond` (values encode the seq); `at(n)` runs after the n-th. */
  async function produce(count: number, perSecond: number, at?: (n: number) => Promise<void>) {
    let last = 0;
    const started = Date.now();
    for (let i = 0; i < count; i++) {
      const next = (await outbox.lastSeq()) + 1;
      ({ seq: last } = await outbox.append(new Date().toISOString(), expectedValues(next), {
        maxReadings: 0,
        maxAgeMs: 0,
      }));
      if (at) await at(i + 1);
      const ahead = started + ((i + 1) * 1000) / perSecond - Date.now();
      if (ahead > 0) await sleep(ahead);
    }
    return last;
  }

  /**
   * Recovery, watched while readings keep being produced: milliseconds from the kill until a reading
   * measured after it (seq > seqAtKill + 10) is committed. Polled every 100 ms.
   */
  function watchRecovery(seqAtKill: number, killedAt: number): Promise<number> {
    return waitFor(
      'a reading measured after the kill stored',
      120_000,
      async () => (await maxStoredSeq()) > seqAtKill + 10,
    ).then(() => Date.now() - killedAt);
  }

  async function expectAllStoredOnce(lastSeq: number): Promise<void> {
    await waitFor(`seq 1..${lastSeq} stored and the outbox empty`, 180_000, async () => {
      const a = await audit(deviceId);
      const backlog = await redis.xlen(outbox.keys.outbox);
      return a.counter?.n === lastSeq && backlog === 0 ? true : JSON.stringify({ ...a.counter, backlog });
    });
    const a = await audit(deviceId);
    for (const sensor of ['temperature', 'humidity', 'counter']) {
      expect(a[sensor], sensor).toEqual({ n: lastSeq, distinct: lastSeq, min: 1, max: lastSeq, wrong: 0 });
    }
  }

  beforeAll(async () => {
    [cluster, db, redisServer] = await Promise.all([
      RabbitMqCluster.start({ nodes: 3 }),
      MariaDbServer.start(),
      RedisServer.start({ appendfsync: 'everysec' }),
    ]);
    databaseUrl = await db.createDatabase();
    redis = new Redis(redisServer.url, { maxRetriesPerRequest: null });
    redis.on('error', () => {});
    outbox = new OutboxStore(redis);
    // Accounts as `npm run device -- add` makes them with PROVISIONING_BROKER=rabbitmq.
    const accounts = new RabbitMqAccounts({
      command: [RABBITMQCTL],
      node: cluster.nodes[0]!.nodeName,
      env: cluster.nodes[0]!.env,
    });
    for (const user of ['receiver', deviceId, 'rmq-004', 'rmq-intruder']) {
      passwords.set(user, pw(user));
      await accounts.set(user, passwords.get(user)!, { mustBeNew: true });
    }
    receivers.push(await startReceiver(0));
    await waitFor('receiver 1 connected', 60_000, () => amqpHealthy(receivers[0]!), 250);
    receivers.push(await startReceiver(1));
    await waitFor('receiver 2 connected', 60_000, () => amqpHealthy(receivers[1]!), 250);
    // The device on a node that does not lead the queue: killing the leader must not cut the device.
    const leader = await cluster.queueLeader(QUEUE);
    expect(leader).toBeDefined();
    deviceNode = cluster.nodes.find((n) => n !== leader)!;
    const others = cluster.nodes.filter((n) => n !== deviceNode);
    mqtthandler = await NodeService.start('device/mqtthandler', {
      env: {
        ...quiet,
        DEVICE_ID: deviceId,
        REDIS_URL: redisServer.url,
        MQTT_URL: [deviceNode, ...others].map((n) => n.mqttUrl).join(','),
        MQTT_USERNAME: deviceId,
        MQTT_PASSWORD: passwords.get(deviceId)!,
        // A persistent session in a quorum queue: it survives the loss of the device's node.
        MQTT_CLEAN_SESSION: 'false',
        MQTT_RECONNECT_MIN_MS: '200',
        MQTT_RECONNECT_MAX_MS: '1000',
        MQTT_ACK_TIMEOUT_MS: '5000',
        MQTT_BATCH_MAX_WAIT_MS: '50',
      },
    });
  }, 600_000);

  afterAll(async () => {
    redis?.disconnect();
    await Promise.allSettled([mqtthandler?.stop(), ...receivers.map((r) => r.stop())]);
    await Promise.allSettled([cluster?.destroy(), db?.stop(), redisServer?.stop()]);
  });

  it('confines a device to its own topics on the cluster', async () => {
    const intruder = await mqtt.connectAsync(deviceNode.mqttUrl, {
      clientId: 'rmq-intruder',
      username: 'rmq-intruder',
      password: passwords.get('rmq-intruder')!,
      reconnectPeriod: 0,
    });
    const closed = new Promise<void>((resolve) => intruder.once('close', () => resolve()));
    // RabbitMQ 3.10 answers a refused publish by closing the connection (no PUBACK).
    intruder.publish(`devices/${deviceId}/telemetry`, '{"v":1,"readings":[]}', { qos: 1 });
    await Promise.race([closed, sleep(10_000).then(() => Promise.reject(new Error('publish not refused')))]);
    intruder.end(true);
  });

  it('kill -9 of the queue leader node: every seq stored exactly once', async () => {
    const leader = (await cluster.queueLeader(QUEUE))!;
    expect(leader).not.toBe(deviceNode);
    let seqAtKill = 0;
    let recovery: Promise<number> | undefined;
    const lastSeq = await produce(600, 50, async (n) => {
      if (n === 200) {
        seqAtKill = await outbox.lastSeq();
        const killedAt = Date.now();
        killed.add(leader);
        await leader.kill();
        recovery = watchRecovery(seqAtKill, killedAt);
      }
    });
    const recoveryMs = await recovery!;
    await expectAllStoredOnce(lastSeq);
    const newLeader = await cluster.queueLeader(QUEUE);
    report(
      `leader ${leader.nodeName} killed at seq ${seqAtKill}: readings flowing again after ${recoveryMs} ms ` +
        `(new leader ${newLeader?.nodeName ?? 'unknown'}); ${lastSeq} seqs stored exactly once`,
    );
    expect(newLeader).toBeDefined();
    expect(newLeader).not.toBe(leader);
    await leader.start();
    await cluster.waitForMembers(3);
  });

  it('kill -9 of a receiver: nothing lost, nothing twice', async () => {
    const before = await outbox.lastSeq();
    const victim = receivers[0]!;
    const lastSeq = await produce(400, 50, async (n) => {
      if (n === 150) await victim.kill();
    });
    await expectAllStoredOnce(lastSeq);
    report(
      `receiver-1 killed mid-stream (seqs ${before + 1}..${lastSeq}): all stored exactly once by receiver-2`,
    );
    await victim.start();
    await waitFor('receiver 1 back', 60_000, () => amqpHealthy(victim), 250);
  });

  it('a source-004 device publishing through the cluster: 0 lost', async () => {
    const count = 300;
    const base = Date.UTC(2026, 0, 1);
    const publisher = await mqtt.connectAsync(cluster.nodes[2]!.mqttUrl, {
      clientId: 'rmq-004',
      username: 'rmq-004',
      password: passwords.get('rmq-004')!,
    });
    for (let i = 0; i < count; i++) {
      // FULL format with its own timestamp: a redelivery is stored once (the timestamp is its key).
      const timestamp = new Date(base + i * 1000).toISOString().replace('Z', '+00:00');
      await publisher.publishAsync(
        'devices/rmq-004/data',
        JSON.stringify({ sensors: [{ sensor_name: 'light', value: i }], timestamp }),
        { qos: 1 },
      );
    }
    await publisher.endAsync();
    await waitFor(`${count} 004 messages stored`, 120_000, async () => {
      const a = await audit('rmq-004');
      return a.light?.n === count ? true : JSON.stringify(a.light ?? {});
    });
    const a = await audit('rmq-004');
    expect(a.light).toMatchObject({ n: count, distinct: count });
    report(`004 publisher: ${count} messages published through node 3, ${a.light!.n} stored`);
  });

  it("kill -9 of the device's node: the device moves to the next node, every seq stored exactly once", async () => {
    const node = deviceNode;
    let seqAtKill = 0;
    let recovery: Promise<number> | undefined;
    const lastSeq = await produce(400, 50, async (n) => {
      if (n === 100) {
        seqAtKill = await outbox.lastSeq();
        const killedAt = Date.now();
        killed.add(node);
        await node.kill();
        recovery = watchRecovery(seqAtKill, killedAt);
      }
    });
    const recoveryMs = await recovery!;
    await expectAllStoredOnce(lastSeq);
    report(
      `device's node ${node.nodeName} killed: readings flowing again after ${recoveryMs} ms; all ${lastSeq} seqs once`,
    );
    await node.start();
    await cluster.waitForMembers(3);
  });

  it("client-id takeover: the intruder under the device's client id receives nothing of it", async () => {
    // Client ids are tracked cluster-wide (a Raft group of the MQTT plugin): any node will do.
    const steady = cluster.nodes.find((n) => !killed.has(n)) ?? cluster.nodes[0]!;
    const stolen: string[] = [];
    const attempt = async (clean: boolean): Promise<string> => {
      const logBefore = readFileSync(mqtthandler.outputLog, 'utf8').length;
      let client: mqtt.MqttClient;
      try {
        client = await mqtt.connectAsync(steady.mqttUrl, {
          clientId: deviceId,
          clean,
          username: 'rmq-intruder',
          password: passwords.get('rmq-intruder')!,
          reconnectPeriod: 0,
        });
      } catch (err) {
        return `CONNECT refused (${(err as Error).message})`;
      }
      client.on('message', (topic) => stolen.push(topic));
      const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
      client.subscribe([`devices/${deviceId}/ack`, `devices/${deviceId}/commands`], { qos: 1 });
      const wasClosed = await Promise.race([closed.then(() => true), sleep(10_000).then(() => false)]);
      client.end(true);
      await sleep(1000);
      const kicked = readFileSync(mqtthandler.outputLog, 'utf8')
        .slice(logBefore)
        .includes('broker connection lost');
      return `connected; subscription ${wasClosed ? 'refused (connection closed)' : 'NOT refused'}; device ${kicked ? 'was' : 'was not'} knocked off`;
    };
    // Readings (and so acks) flow meanwhile: there is something to steal.
    const producing = produce(200, 50);
    const asClean = await attempt(true);
    const asPersistent = await attempt(false);
    const lastSeq = await producing;
    report(`takeover with clean session: ${asClean}; with persistent session: ${asPersistent}`);
    expect(stolen).toEqual([]);
    expect(asClean + asPersistent).not.toMatch(/NOT refused/);
    // The device's session survived: everything is stored and acked.
    await expectAllStoredOnce(lastSeq);
  });
});
