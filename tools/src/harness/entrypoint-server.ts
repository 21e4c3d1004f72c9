import { ManagedServer, type ServerOptions, type SpawnSpec } from './managed-server.js';

export interface EntrypointServerOptions extends ServerOptions {
  /** Name in logs and in the output file, e.g. `redis-entrypoint`. */
  kind: string;
  /** The image's entrypoint script, run with `sh` in the server's dir. */
  script: string;
  /** Arguments of the script (the image's CMD) for this start's port. */
  args?: (port: number) => string[];
  /** Environment of the script for this start's dir and port (on top of this process's). */
  env: (dir: string, port: number) => Record<string, string>;
  /** Runs before every start, e.g. to write a template that names the port. */
  prepare?: (dir: string, port: number) => void | Promise<void>;
  /** Ready when this resolves true for the current port; false or a throw mean not yet. */
  ready: (port: number, server: EntrypointServer) => Promise<boolean>;
  /** Default 60 s: an entrypoint may first make certificates. */
  startTimeoutMs?: number;
}

/**
 * A server started the way its image starts it: through the shipped entrypoint script, with the real
 * binary and the environment pointing at temp dirs. The script must `exec` the server, so the harness's
 * stop and kill reach the server itself.
 */
export class EntrypointServer extends ManagedServer {
  protected readonly kind: string;

  private constructor(
    dir: string,
    port: number,
    ownsDir: boolean,
    private readonly opts: EntrypointServerOptions,
  ) {
    super(dir, port, ownsDir, opts.log);
    this.kind = opts.kind;
    this.startTimeoutMs = opts.startTimeoutMs ?? 60_000;
  }

  static start(opts: EntrypointServerOptions): Promise<EntrypointServer> {
    return ManagedServer.startOnFreePort(
      opts.kind,
      opts,
      (dir, port, ownsDir) => new EntrypointServer(dir, port, ownsDir, opts),
    );
  }

  protected override async prepare(): Promise<void> {
    await this.opts.prepare?.(this.dir, this.port);
  }

  protected spawnSpec(): SpawnSpec {
    return {
      command: 'sh',
      args: [this.opts.script, ...(this.opts.args?.(this.port) ?? [])],
      env: this.opts.env(this.dir, this.port),
    };
  }

  protected probe(): Promise<boolean> {
    return this.opts.ready(this.port, this);
  }
}
