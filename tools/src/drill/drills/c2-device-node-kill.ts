import type { Drill } from '../drill.js';
import { INTAKE_QUEUE, type ClusterSystem } from '../cluster-system.js';
import { runClusterFault, timeUntil } from '../cluster-steps.js';
import type { RabbitMqNode } from '../../harness/index.js';

/**
 * kill -9 of the RabbitMQ node a device is connected to (not the intake queue's leader, so this is the
 * client side alone): its mqtthandler reconnects to the next node of its MQTT_URL and resumes its
 * persistent session; what was in flight is resent and stored once.
 */
export const deviceNodeKill: Drill<ClusterSystem> = {
  id: 'c2',
  name: "a device's RabbitMQ node kill -9",
  quick: false,
  run: async (system, scale, log) => {
    let node: RabbitMqNode | undefined;
    let deviceId = '';
    return runClusterFault(
      system,
      {
        id: 'c2',
        name: "a device's RabbitMQ node kill -9",
        choose: async () => {
          const leader = await system.rabbit.queueLeader(INTAKE_QUEUE);
          for (const d of system.devices) {
            const n = await system.mqttNodeOf(d.id);
            if (n && n !== leader) [node, deviceId] = [n, d.id];
            if (node) break;
          }
          if (!node) throw new Error('no device is connected to a node that does not lead the queue');
          log(`  ${deviceId} is on ${node.nodeName}`);
        },
        kill: async () => node!.kill(),
        failover: async (killedAt) => {
          const ms = await timeUntil(`${deviceId} connected again`, killedAt, async () => {
            const now = await system.mqttNodeOf(deviceId);
            return now !== undefined && now !== node;
          });
          return `${deviceId} reconnected to another node ${ms} ms after the kill`;
        },
        restart: async () => {
          await node!.start();
          await system.rabbit.waitForMembers(3);
        },
      },
      scale,
      log,
    );
  },
};
