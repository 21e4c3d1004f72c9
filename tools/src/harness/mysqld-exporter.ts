import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { findBinary } from './binaries.js';
import { ManagedServer, type ServerOptions, type SpawnSpec } from './managed-server.js';
import { httpGet } from './node-service.js';

export interface MysqldExporterOptions extends ServerOptions {
  /** The MariaDB to describe. */
  mariadbPort: number;
  /** An account with PROCESS, REPLICATION CLIENT and SELECT (the exporter refuses one without a password). */
  user: string;
  password: string;
}

/**
 * Debian's `prometheus-mysqld-exporter` against a private MariaDB: the backend dashboards' MariaDB panels
 * are evaluated against the metrics the real exporter exports (the compose file runs the upstream image
 * of the same program). Credentials go in a my.cnf of its own, never on the command line.
 */
export class MysqldExporter extends ManagedServer {
  protected readonly kind = 'mysqld-exporter';

  private constructor(
    dir: string,
    port: number,
    ownsDir: boolean,
    private readonly opts: MysqldExporterOptions,
  ) {
    super(dir, port, ownsDir, opts.log);
  }

  static start(opts: MysqldExporterOptions): Promise<MysqldExporter> {
    return ManagedServer.startOnFreePort(
      'mysqld-exporter',
      opts,
      (dir, port, ownsDir) => new MysqldExporter(dir, port, ownsDir, opts),
    );
  }

  protected spawnSpec(): SpawnSpec {
    const cnf = path.join(this.dir, 'exporter.cnf');
    writeFileSync(
      cnf,
      `[client]\nhost=127.0.0.1\nport=${this.opts.mariadbPort}\nuser=${this.opts.user}\npassword=${this.opts.password}\n`,
      { mode: 0o600 },
    );
    return {
      command: findBinary('prometheus-mysqld-exporter', 'MYSQLD_EXPORTER_BIN'),
      args: [`--config.my-cnf=${cnf}`, `--web.listen-address=127.0.0.1:${this.port}`],
    };
  }

  protected probe(): Promise<boolean> {
    return httpGet(`http://127.0.0.1:${this.port}/metrics`).then(
      (r) => r.status === 200,
      () => false,
    );
  }
}
