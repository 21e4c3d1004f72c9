import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';
import { ManagedServer, type ServerOptions, type SpawnSpec } from './managed-server.js';
import { REPO_ROOT } from './repo-root.js';

export type ServiceName =
  | 'device/sensor'
  | 'device/mqtthandler'
  | 'device/startstopbutton'
  | 'backend/receiver'
  | 'backend/webadmin'
  | 'backend/mqttserver';

export interface NodeServiceOptions extends ServerOptions {
  /** Environment of the service (on top of PATH/HOME); METRICS_PORT is set to the service's port. */
  env: Record<string, string>;
  /** Name used in logs and the output file; default the workspace's last path segment. */
  label?: string;
  /** The script, relative to the workspace; default `dist/main.js` (a workspace may hold more than one). */
  entry?: string;
  /**
   * A command prefix the service runs under, e.g. `['ip', 'netns', 'exec', 'ns1']` (a device inside a
   * network namespace): the process group still holds the service, so kill -9 and stop reach it.
   */
  wrap?: string[];
  /**
   * Node flags instead of those of the workspace's `start` script (benchmarks comparing heap settings);
   * default: the start script's, as the container runs it.
   */
  nodeFlags?: string[];
  /** Called with the pid right after every spawn, before the service is ready. */
  onSpawn?: (pid: number) => void;
}

/**
 * One of our own services (`node <workspace>/dist/main.js`) run as a real process, with the same
 * lifecycle as the private servers: tests kill -9 and restart it. Ready = its /health endpoint answers
 * (200 or 503: the process is up; what it reports is for the test to judge).
 */
export class NodeService extends ManagedServer {
  protected readonly kind: string;

  private constructor(
    dir: string,
    port: number,
    ownsDir: boolean,
    readonly service: ServiceName,
    private readonly opts: NodeServiceOptions,
  ) {
    super(dir, port, ownsDir, opts.log, opts);
    this.kind = opts.label ?? path.basename(service);
    this.stopTimeoutMs = 25_000;
  }

  static start(service: ServiceName, opts: NodeServiceOptions): Promise<NodeService> {
    const label = opts.label ?? path.basename(service);
    return ManagedServer.startOnFreePort(
      label,
      opts,
      (dir, port, ownsDir) => new NodeService(dir, port, ownsDir, service, opts),
    );
  }

  /** Environment changes apply at the next start/restart; `undefined` removes a variable. */
  setEnv(env: Record<string, string | undefined>): void {
    for (const [name, value] of Object.entries(env)) {
      if (value === undefined) delete this.opts.env[name];
      else this.opts.env[name] = value;
    }
  }

  get healthUrl(): string {
    return `http://${this.host}:${this.port}/health`;
  }

  protected spawnSpec(): SpawnSpec {
    const node = [
      process.execPath,
      ...(this.opts.nodeFlags ?? nodeFlagsOf(this.service)),
      path.join(REPO_ROOT, this.service, this.opts.entry ?? 'dist/main.js'),
    ];
    const [command, ...args] = [...(this.opts.wrap ?? []), ...node];
    return {
      command: command!,
      args,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        NODE_ENV: 'production',
        ...this.opts.env,
        METRICS_PORT: String(this.port),
        METRICS_HOST: this.host,
      },
    };
  }

  protected override spawned(pid: number): void {
    this.opts.onSpawn?.(pid);
  }

  protected probe(): Promise<boolean> {
    return httpGet(this.healthUrl).then(
      (r) => r.status === 200 || r.status === 503,
      () => false,
    );
  }
}

export function httpGet(url: string, timeoutMs = 2000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { timeout: timeoutMs }, (res) => {
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

/**
 * The node flags of a service's `start` script (e.g. the receiver's heap limits), so tests, the bench and
 * the local stack run it the way its container does.
 */
export function nodeFlagsOf(service: ServiceName): string[] {
  const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, service, 'package.json'), 'utf8')) as {
    scripts?: { start?: string };
  };
  // `node --flag … dist/main.js args`: the flags are what stands between `node` and the script.
  const [, ...rest] = (pkg.scripts?.start ?? '').trim().split(/\s+/);
  const script = rest.findIndex((t) => !t.startsWith('-'));
  return script < 0 ? rest : rest.slice(0, script);
}
