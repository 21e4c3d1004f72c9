import { readFileSync } from 'node:fs';
import amqp from 'amqplib';
import { connectAsync } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RabbitMqCluster, waitFor } from '@sensorfleet/tools/harness';

// A private 3-node cluster beside the machine's own RabbitMQ: joined, isolated, routes MQTT to AMQP
// across nodes, and a node killed with -9 comes back into the cluster with its data.
describe('RabbitMqCluster (harness)', { timeout: 300_000 }, () => {
  let cluster: RabbitMqCluster;

  beforeAll(async () => {
    cluster = await RabbitMqCluster.start({ nodes: 3, quorumSessionQueues: true });
  }, 300_000);

  afterAll(async () => {
    await cluster?.destroy();
  });

  it('runs three joined nodes on their own ports, cookie and epmd', async () => {
    const members = await cluster.runningMembers();
    expect(members.sort()).toEqual(cluster.nodes.map((n) => n.nodeName).sort());
    const ports = cluster.nodes.flatMap((n) => [n.port, n.mqttPort, n.distPort]);
    expect(new Set(ports).size).toBe(ports.length);
    for (const port of ports) expect([5672, 25672, 4369, 1883]).not.toContain(port);
    const env = cluster.nodes[0]!.env;
    expect(env.ERL_EPMD_PORT).not.toBe('4369');
    expect(env.HOME?.startsWith(cluster.dir)).toBe(true);
    const conf = readFileSync(`${cluster.nodes[0]!.dir}/rabbitmq.conf`, 'utf8');
    expect(conf).toMatch(/mqtt\.durable_queue_type = quorum/);
  });

  it('routes an MQTT publish on one node to a quorum queue consumed over AMQP on another', async () => {
    await cluster.ctl(['add_user', 'pub1', 'pw-pub1']);
    await cluster.ctl(['set_permissions', '-p', '/', 'pub1', '.*', '.*', '.*']);
    const conn = await amqp.connect(cluster.nodes[1]!.amqpUrl);
    const ch = await conn.createChannel();
    await ch.assertQueue('harness-test', { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    await ch.bindQueue('harness-test', 'amq.topic', 'devices.*.telemetry');
    const client = await connectAsync(cluster.nodes[2]!.mqttUrl, {
      clientId: 'pub1',
      username: 'pub1',
      password: 'pw-pub1',
      reconnectPeriod: 0,
    });
    await client.publishAsync('devices/pub1/telemetry', 'hello', { qos: 1 });
    await client.endAsync();
    let got: amqp.GetMessage | undefined;
    await waitFor('the message in the queue', 20_000, async () => {
      const m = await ch.get('harness-test', { noAck: true });
      if (m) got = m;
      return got !== undefined;
    });
    expect(got!.fields.routingKey).toBe('devices.pub1.telemetry');
    expect(got!.content.toString()).toBe('hello');
    await conn.close();
  });

  it('brings a node killed with -9 back into the cluster', async () => {
    const node = cluster.nodes[2]!;
    const pid = node.pid;
    await node.kill();
    expect(node.running).toBe(false);
    await waitFor(
      'the cluster to notice',
      60_000,
      async () => (await cluster.runningMembers()).length === 2,
      500,
    );
    await node.start();
    expect(node.pid).not.toBe(pid);
    await cluster.waitForMembers(3);
    expect(await cluster.runningMembers(node)).toContain(cluster.nodes[0]!.nodeName);
  });
});
