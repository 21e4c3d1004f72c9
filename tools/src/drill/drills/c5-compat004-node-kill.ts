import type { Drill } from '../drill.js';
import type { ClusterSystem } from '../cluster-system.js';
import { runClusterFault, timeUntil } from '../cluster-steps.js';
import type { RabbitMqNode } from '../../harness/index.js';

/**
 * The source-004 publisher through the cluster, its node killed -9: such a device never resends what was
 * PUBACKed, so everything the cluster confirmed must be stored (the window audits the 004 source and
 * every native device). c1 has the 004 source in its window too; this drill kills the 004 device's node.
 */
export const compat004NodeKill: Drill<ClusterSystem> = {
  id: 'c5',
  name: "the 004 publisher's RabbitMQ node kill -9",
  quick: false,
  run: async (system, scale, log) => {
    const id = system.compat004?.id;
    if (!id) throw new Error('the cluster system runs no 004 publisher');
    let node: RabbitMqNode | undefined;
    return runClusterFault(
      system,
      {
        id: 'c5',
        name: "the 004 publisher's RabbitMQ node kill -9",
        choose: async () => {
          node = await system.mqttNodeOf(id);
          if (!node) throw new Error(`${id} is not connected`);
          log(`  ${id} is on ${node.nodeName}`);
        },
        kill: async () => node!.kill(),
        failover: async (killedAt) => {
          const ms = await timeUntil(`${id} connected again`, killedAt, async () => {
            const now = await system.mqttNodeOf(id);
            return now !== undefined && now !== node;
          });
          return `${id} reconnected to another node ${ms} ms after the kill`;
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
