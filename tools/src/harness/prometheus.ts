import { writeFileSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';
import { findBinary } from './binaries.js';
import { ManagedServer, type ServerOptions, type SpawnSpec } from './managed-server.js';

export interface PrometheusServerOptions extends ServerOptions {
  /** prometheus.yml content (scrape configs pointing at local services). */
  config: string;
}

export interface PromSample {
  metric: Record<string, string>;
  value?: [number, string];
  values?: [number, string][];
}

/**
 * A private Prometheus (Debian's `prometheus` package) with a given scrape configuration: the device
 * and backend dashboards' queries are evaluated against it, so a renamed metric fails a test rather
 * than a dashboard. TSDB in `<dir>/data`, short retention (tests only look at the last minutes).
 */
export class PrometheusServer extends ManagedServer {
  protected readonly kind = 'prometheus';

  private constructor(
    dir: string,
    port: number,
    ownsDir: boolean,
    private readonly opts: PrometheusServerOptions,
  ) {
    super(dir, port, ownsDir, opts.log);
    this.startTimeoutMs = 30_000;
  }

  static start(opts: PrometheusServerOptions): Promise<PrometheusServer> {
    return ManagedServer.startOnFreePort(
      'prometheus',
      opts,
      (dir, port, ownsDir) => new PrometheusServer(dir, port, ownsDir, opts),
    );
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get configFile(): string {
    return path.join(this.dir, 'prometheus.yml');
  }

  protected override async prepare(): Promise<void> {
    writeFileSync(this.configFile, this.opts.config);
  }

  protected spawnSpec(): SpawnSpec {
    return {
      command: findBinary('prometheus', 'PROMETHEUS_BIN'),
      args: [
        `--config.file=${this.configFile}`,
        `--storage.tsdb.path=${path.join(this.dir, 'data')}`,
        '--storage.tsdb.retention.time=1h',
        `--web.listen-address=127.0.0.1:${this.port}`,
        '--log.level=warn',
      ],
    };
  }

  protected probe(): Promise<boolean> {
    return this.get('/-/ready').then(
      (r) => r.status === 200,
      () => false,
    );
  }

  /** An instant query; rejects when Prometheus refuses the expression (syntax, unknown function). */
  async query(expr: string): Promise<PromSample[]> {
    const r = await this.get(`/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = JSON.parse(r.body) as { status: string; error?: string; data?: { result: PromSample[] } };
    if (body.status !== 'success') throw new Error(`${expr}: ${body.error ?? r.status}`);
    return body.data?.result ?? [];
  }

  /** Health of every scrape target, by job. */
  async targets(): Promise<{ job: string; health: string; lastError: string }[]> {
    const r = await this.get('/api/v1/targets?state=active');
    const body = JSON.parse(r.body) as {
      data: { activeTargets: { labels: { job: string }; health: string; lastError: string }[] };
    };
    return body.data.activeTargets.map((t) => ({
      job: t.labels.job,
      health: t.health,
      lastError: t.lastError,
    }));
  }

  private get(pathAndQuery: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = request(`${this.url}${pathAndQuery}`, { timeout: 5000 }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', reject);
      req.end();
    });
  }
}
