import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from './logger.js';

export interface HealthReport {
  ok: boolean;
  checks: Record<string, { ok: boolean; detail?: unknown }>;
}

export type HealthCheck = () => HealthReport | Promise<HealthReport>;

// Not `import … from 'node:http'`: on Node 22+ the ESM facade of node:http reads every export, and its
// lazy `WebSocket` getters load all of the bundled undici, a client no service here uses — 4–5 MB of a
// device service's peak RSS on Node 24 (bench-results/README.md, "Node 24: where the RSS goes").
// getBuiltinModule hands over the CommonJS exports as they are.
const { createServer } = process.getBuiltinModule('node:http');

/**
 * `/health` (200 when every check passes, else 503, JSON body either way) and `/metrics` (Prometheus text)
 * on one small HTTP server. Device services use this; the web admin mounts the same routes in fastify.
 */
export class HealthEndpoint {
  readonly name = 'health-endpoint';
  private server: Server | undefined;

  constructor(
    private readonly opts: {
      port: number;
      host: string;
      registry: Registry;
      health: HealthCheck;
      log: Logger;
    },
  ) {}

  get port(): number {
    return (this.server?.address() as AddressInfo | null)?.port ?? this.opts.port;
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      void this.handle(req.url ?? '/').then(
        ({ status, type, body }) => {
          res.writeHead(status, { 'content-type': type });
          res.end(body);
        },
        (err: unknown) => {
          this.opts.log.error({ err }, 'health endpoint failed');
          res.writeHead(500).end();
        },
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port, this.opts.host, () => resolve());
    });
    this.server = server;
    this.opts.log.info({ port: this.port }, 'health and metrics endpoint listening');
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(url: string): Promise<{ status: number; type: string; body: string }> {
    const path = url.split('?')[0];
    if (path === '/health' || path === '/healthz') {
      const report = await this.opts.health();
      return { status: report.ok ? 200 : 503, type: 'application/json', body: JSON.stringify(report) };
    }
    if (path === '/metrics') {
      return { status: 200, type: this.opts.registry.contentType, body: await this.opts.registry.metrics() };
    }
    return { status: 404, type: 'text/plain', body: 'not found: try /health or /metrics\n' };
  }
}
