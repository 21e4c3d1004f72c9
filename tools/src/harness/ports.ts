import net from 'node:net';

/**
 * Ports below the kernel's ephemeral range (32768–60999 on Linux), so a server port does not collide
 * with the local port of some outgoing connection, and spread at random so parallel test processes
 * rarely pick the same one. A collision that still happens is handled by the servers' start retry.
 */
const RANGE_LOW = 20_000;
const RANGE_HIGH = 32_000;
/** Ports handed out recently by this process: not handed out again before their server binds them. */
const recent = new Map<number, number>();
const RECENT_MS = 60_000;

function tryListen(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(undefined));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => {
      const address = server.address();
      const bound = typeof address === 'object' && address ? address.port : undefined;
      server.close(() => resolve(bound));
    });
  });
}

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export async function freePort(): Promise<number> {
  const now = Date.now();
  for (const [port, at] of recent) if (now - at > RECENT_MS) recent.delete(port);
  for (let attempt = 0; attempt < 50; attempt++) {
    const candidate = RANGE_LOW + Math.floor(Math.random() * (RANGE_HIGH - RANGE_LOW));
    if (recent.has(candidate)) continue;
    const port = await tryListen(candidate);
    if (port !== undefined) {
      recent.set(port, now);
      return port;
    }
  }
  // Crowded range: let the kernel choose.
  const port = await tryListen(0);
  if (port === undefined) throw new Error('freePort: could not bind any port on 127.0.0.1');
  recent.set(port, now);
  return port;
}
