import net, { type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A TCP proxy that counts the bytes in each direction: put between the mqtthandler and the broker, it
 * measures what the device really sends (MQTT framing, topic, payload; not TCP/IP headers). Made closed,
 * it drops every connection at once (a device whose network is down) until `open()`.
 */
export class TcpByteCounter {
  /** Client → server bytes (device uplink). */
  up = 0;
  /** Server → client bytes (acks, commands, PUBACKs). */
  down = 0;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private closed: boolean;

  constructor(
    private readonly target: { host: string; port: number },
    opts: { closed?: boolean } = {},
  ) {
    this.closed = opts.closed ?? false;
  }

  /** Lets connections through from now on. */
  open(): void {
    this.closed = false;
  }

  get port(): number {
    return (this.server?.address() as AddressInfo | null)?.port ?? 0;
  }

  async start(): Promise<void> {
    const server = net.createServer((client) => {
      if (this.closed) {
        client.destroy();
        return;
      }
      const upstream = net.connect(this.target);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.on('data', (chunk: Buffer) => {
        this.up += chunk.length;
        upstream.write(chunk);
      });
      upstream.on('data', (chunk: Buffer) => {
        this.down += chunk.length;
        client.write(chunk);
      });
      client.on('end', () => upstream.end());
      upstream.on('end', () => client.end());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
  }

  snapshot(): { up: number; down: number } {
    return { up: this.up, down: this.down };
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
