import path from 'node:path';
import { ManagedServer, type SpawnSpec } from '../harness/index.js';
import { httpGet } from '../harness/node-service.js';
import type { AssembledImage } from './assemble.js';

export interface ImageServiceOptions {
  /** Container environment on top of the image's ENV (the compose file's `environment:`). */
  env: Record<string, string>;
  /** Name in logs, e.g. `sensor-image`. */
  label: string;
  log?: (line: string) => void;
}

/**
 * An assembled image's ENTRYPOINT + CMD run from its folder, the way the container would: the image's
 * ENV, cwd = WORKDIR, nothing from this repository's node_modules on the way (the folder lives outside
 * the repository, so Node's module lookup cannot climb into it). `tini` is left out (it only forwards
 * signals) and `node` is this machine's. Ready = the HEALTHCHECK's /health answers at all.
 */
export class ImageService extends ManagedServer {
  protected readonly kind: string;

  private constructor(
    private readonly image: AssembledImage,
    port: number,
    private readonly opts: ImageServiceOptions,
  ) {
    super(image.dir, port, false, opts.log);
    this.kind = opts.label;
    this.startTimeoutMs = 60_000;
    this.stopTimeoutMs = 25_000;
  }

  static start(
    image: AssembledImage,
    opts: ImageServiceOptions & { portVar: string },
  ): Promise<ImageService> {
    return ManagedServer.startOnFreePort(opts.label, { dir: image.dir, log: opts.log }, (_dir, port) => {
      const service = new ImageService(image, port, opts);
      service.portVar = opts.portVar;
      return service;
    });
  }

  private portVar = 'METRICS_PORT';

  get healthUrl(): string {
    return `http://127.0.0.1:${this.port}/health`;
  }

  protected spawnSpec(): SpawnSpec {
    const words = this.image.command.filter(
      (w, i) => !(i === 0 && path.basename(w) === 'tini') && w !== '--',
    );
    const [command, ...args] = words.map((w) => (w === 'node' ? process.execPath : w));
    if (!command) throw new Error(`${this.kind}: the image has no ENTRYPOINT/CMD`);
    return {
      command:
        command.includes('/') && !path.isAbsolute(command) ? path.join(this.image.dir, command) : command,
      args,
      env: {
        PATH: `${path.dirname(process.execPath)}:${process.env.PATH ?? '/usr/bin:/bin'}`,
        NODE_OPTIONS: '',
        NODE_PATH: '',
        ...this.image.settings.env,
        ...this.opts.env,
        [this.portVar]: String(this.port),
        METRICS_HOST: '127.0.0.1',
      },
    };
  }

  protected probe(): Promise<boolean> {
    return httpGet(this.healthUrl).then(
      (r) => r.status === 200 || r.status === 503,
      () => false,
    );
  }
}
