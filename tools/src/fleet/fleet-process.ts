import path from 'node:path';
import { ManagedServer, type ServerOptions, type SpawnSpec } from '../harness/managed-server.js';
import { httpGet } from '../harness/node-service.js';
import { REPO_ROOT } from '../harness/repo-root.js';

/**
 * Node flags of the fleet process (also in package.json's `fleet` script). A larger young generation:
 * a thousand devices' in-flight readings, pending PUBACKs and Redis replies live a few hundred ms, long
 * enough to survive the default 16 MB semi-space's scavenges and be promoted, and the old space then
 * costs mark-compacts over the whole heap.
 */
export const FLEET_NODE_FLAGS = ['--max-semi-space-size=64'];

export interface FleetProcessOptions extends ServerOptions {
  /** Arguments of `npm run fleet` (without --metrics-port, which is the server's port). */
  args: string[];
  env?: Record<string, string>;
}

/**
 * `npm run fleet` as a managed process (the local stack's simulated devices): one Node process for the
 * whole fleet, ready when its /health answers, its status lines in `<dir>/fleet.out.log`.
 */
export class FleetProcess extends ManagedServer {
  protected readonly kind = 'fleet';

  private constructor(
    dir: string,
    port: number,
    ownsDir: boolean,
    private readonly opts: FleetProcessOptions,
  ) {
    super(dir, port, ownsDir, opts.log);
    this.stopTimeoutMs = 15_000;
  }

  static start(opts: FleetProcessOptions): Promise<FleetProcess> {
    return ManagedServer.startOnFreePort(
      'fleet',
      opts,
      (dir, port, ownsDir) => new FleetProcess(dir, port, ownsDir, opts),
    );
  }

  get healthUrl(): string {
    return `http://127.0.0.1:${this.port}/health`;
  }

  protected spawnSpec(): SpawnSpec {
    return {
      command: process.execPath,
      args: [
        ...FLEET_NODE_FLAGS,
        path.join(REPO_ROOT, 'tools/dist/fleet/main.js'),
        ...this.opts.args,
        '--metrics-port',
        String(this.port),
      ],
      env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'production', ...this.opts.env },
    };
  }

  protected probe(): Promise<boolean> {
    return httpGet(this.healthUrl).then(
      (r) => r.status === 200 || r.status === 503,
      () => false,
    );
  }
}
