import { describe, expect, it } from 'vitest';
import { saysAddressInUse, ServerStartError, startWithFreshPorts } from '../src/harness/managed-server.js';

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

describe('saysAddressInUse (which start-up failures are worth other ports)', () => {
  it.each([
    ['mosquitto', 'Error: Address already in use'],
    ['node', 'listen EADDRINUSE: address already in use 127.0.0.1:4000'],
    ['mariadb', "[ERROR] Can't start server: Bind on TCP/IP port. Got error: 98: Address already in use"],
    ['redis', 'Warning: Could not create server TCP listening socket 127.0.0.1:6390: bind: errno 98'],
    ['rabbitmq (Erlang distribution port)', '{dist_port_already_used,25471,not_erlang,"localhost"}'],
  ])('%s', (_server, output) => {
    expect(saysAddressInUse(output)).toBe(true);
  });

  it('not other failures', () => {
    expect(saysAddressInUse('unknown option --foo')).toBe(false);
    expect(saysAddressInUse('Permission denied: /var/lib/mysql')).toBe(false);
  });
});
