import type { Drill } from '../drill.js';
import type { ClusterSystem } from '../cluster-system.js';
import { runClusterFault, timeUntil } from '../cluster-steps.js';
import type { GaleraNode } from '../../harness/index.js';

/**
 * kill -9 of the Galera node the receivers write to (the first of their DATABASE_URL list): the other two
 * evict it and stay Primary, the receivers fail over to the next node, the batches that were not
 * committed are not acked and come again.
 */
export const galeraNodeKill: Drill<ClusterSystem> = {
  id: 'c3',
  name: 'written Galera node kill -9',
  quick: true,
  run: async (system, scale, log) => {
    let node: GaleraNode | undefined;
    return runClusterFault(
      system,
      {
        id: 'c3',
        name: 'written Galera node kill -9',
        kill: async () => {
          node = system.writtenNode();
          log(`  the receivers write to Galera node ${node.index + 1}`);
          await node.kill();
        },
        failover: async (killedAt) => {
          const others = system.galera.nodes.filter((n) => n !== node);
          const ms = await timeUntil('the killed node evicted', killedAt, async () => {
            for (const n of others) {
              const s = await n.status();
              if (s.clusterSize !== 2 || s.clusterStatus !== 'Primary') return false;
            }
            return true;
          });
          return `evicted (the other two Primary at size 2) ${ms} ms after the kill`;
        },
        restart: async () => {
          await node!.start();
          await system.galera.waitForSize(3);
        },
      },
      scale,
      log,
    );
  },
};
