import { existsSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { GaleraCluster } from '@sensorfleet/tools/harness';

let cluster: GaleraCluster | undefined;

afterAll(async () => {
  await cluster?.destroy();
});

function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

describe('GaleraCluster', () => {
  it('forms a 3-node cluster that replicates, survives kill -9 of a node, and takes it back', async () => {
    cluster = await GaleraCluster.start({ nodes: 3 });
    const [n1, n2, n3] = cluster.nodes;
    for (const node of cluster.nodes) {
      expect(await node.status()).toEqual({
        clusterSize: 3,
        state: 'Synced',
        clusterStatus: 'Primary',
        ready: true,
      });
    }
    // every node has its own ports and its own datadir
    const ports = cluster.nodes.flatMap((n) => Object.values(n.ports));
    expect(new Set(ports).size).toBe(12);
    const dirs = (await Promise.all(cluster.nodes.map((n) => n.query('SELECT @@datadir AS d')))) as {
      d: string;
    }[][];
    expect(new Set(dirs.map((r) => r[0]!.d)).size).toBe(3);

    const url = await cluster.createDatabase('harness_galera');
    expect(url.split(',')).toHaveLength(3);
    await n2!.query('CREATE TABLE harness_galera.t (id INT PRIMARY KEY, v VARCHAR(20))');
    await n3!.query("INSERT INTO harness_galera.t VALUES (1, 'from node 3')");
    // Galera applies a replicated write asynchronously: a read on another node waits for it only when
    // asked to (wsrep_sync_wait), as an application reading its own write through another node must.
    expect(
      await n1!.query('SET STATEMENT wsrep_sync_wait = 1 FOR SELECT v FROM harness_galera.t WHERE id = 1'),
    ).toEqual([{ v: 'from node 3' }]);

    const pid = n3!.pid!;
    await n3!.kill();
    expect(processGone(pid)).toBe(true);
    await cluster.waitForSize(2);
    // the two survivors keep a Primary component and take writes
    await n1!.query("INSERT INTO harness_galera.t VALUES (2, 'while 3 was down')");

    await n3!.start();
    await cluster.waitForSize(3);
    expect(await n3!.query('SELECT id FROM harness_galera.t ORDER BY id')).toEqual([{ id: 1 }, { id: 2 }]);

    const dir = cluster.dir;
    await cluster.destroy();
    cluster = undefined;
    expect(existsSync(dir)).toBe(false);
    expect(processGone(pid)).toBe(true);
  });
});
