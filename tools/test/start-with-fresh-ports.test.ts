import { describe, expect, it } from 'vitest';
import { ServerStartError, startWithFreshPorts } from '../src/harness/managed-server.js';

const taken = () => new ServerStartError('node failed: eaddrinuse', 'rabbitmq-server', true);

describe('startWithFreshPorts (clusters whose ports are chosen before they start)', () => {
  it('starts again from scratch when a port was taken meanwhile', async () => {
    let calls = 0;
    const lines: string[] = [];
    const result = await startWithFreshPorts(
      'cluster',
      async () => {
        if (++calls < 3) throw taken();
        return 'up';
      },
      (l) => lines.push(l),
    );
    expect({ result, calls, logged: lines.length }).toEqual({ result: 'up', calls: 3, logged: 2 });
  });

  it('gives up after four attempts, and never retries other failures', async () => {
    let calls = 0;
    await expect(
      startWithFreshPorts('cluster', async () => {
        calls++;
        throw taken();
      }),
    ).rejects.toThrow(/eaddrinuse/);
    expect(calls).toBe(4);
    calls = 0;
    await expect(
      startWithFreshPorts('cluster', async () => {
        calls++;
        throw new ServerStartError('config error', 'x', false);
      }),
    ).rejects.toThrow(/config error/);
    expect(calls).toBe(1);
  });
});
