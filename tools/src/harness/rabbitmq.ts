/**
 * A private RabbitMQ cluster on loopback, for tests of the scale-out deployment: its own Erlang port
 * mapper (epmd on a free port), its own cookie in its own HOME, and per node its own env file, config,
 * enabled-plugins file, data and log dirs, all in one temp dir under the run root. The machine's system
 * RabbitMQ (port 5672, epmd 4369, cookie of the `rabbitmq` user) is never touched: the Debian
 * `/usr/sbin/rabbitmq*` wrappers switch to that user and its cookie, so only the scripts in
 * `/usr/lib/rabbitmq/bin` are used, with every variable that would point at the system broker
 * overridden (`/etc/rabbitmq/rabbitmq-env.conf` sets a NODENAME; RABBITMQ_CONF_ENV_FILE replaces it).
 *
 * Each node has the MQTT plugin with `mqtt.exchange = amq.topic`, anonymous MQTT off, and an
 * administrator account for the harness (`cluster.admin`). Node 1 starts first; the others find it by
 * classic peer discovery and join it. Every node is a ManagedServer: kill() is a kill -9 of that node,
 * start() brings it back with its data (it rejoins as a follower).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import amqp from 'amqplib';
import { findBinary } from './binaries.js';
import { ManagedServer, startWithFreshPorts, type ServerOptions, type SpawnSpec } from './managed-server.js';
import { mqttConnectProbe } from './mosquitto.js';
import { freePort } from './ports.js';
import { harnessRoot } from './run-root.js';

/** The RabbitMQ scripts that run as the caller (not the /usr/sbin wrappers, see the file comment). */
const RABBITMQ_BIN_DIR = process.env.RABBITMQ_BIN_DIR ?? '/usr/lib/rabbitmq/bin';

export interface RabbitMqClusterOptions {
  /** Nodes in the cluster (default 3). */
  nodes?: number;
  /**
   * MQTT session queues of persistent sessions as quorum queues (`mqtt.durable_queue_type = quorum`),
   * so such a session survives the loss of the node it was on. Default true, as in the cluster
   * deployment (README "Scaling out": RabbitMQ 3.10 keeps even a clean session's QoS 1 queue on one node).
   */
  quorumSessionQueues?: boolean;
  /** Lines appended to every node's rabbitmq.conf. */
  extraConfig?: string;
  log?: (line: string) => void;
}

interface ClusterShared {
  dir: string;
  home: string;
  epmdPort: number;
  tag: string;
  admin: { username: string; password: string };
  nodeNames: string[];
  quorumSessionQueues: boolean;
  extraConfig: string;
}

/** Environment shared by the nodes and the CLI: own HOME (cookie), own epmd, no system env file. */
function clusterEnv(shared: ClusterShared, nodeDir: string): NodeJS.ProcessEnv {
  return {
    HOME: shared.home,
    ERL_EPMD_PORT: String(shared.epmdPort),
    ERL_EPMD_ADDRESS: '127.0.0.1',
    RABBITMQ_CONF_ENV_FILE: path.join(nodeDir, 'rabbitmq-env.conf'),
    // The system env file exports ERL_FLAGS; ours is empty, but an inherited one must not leak in.
    ERL_FLAGS: '',
  };
}

/** A private `epmd` (Erlang port mapper) in the foreground, so the run root knows and cleans it up. */
class EpmdServer extends ManagedServer {
  protected readonly kind = 'epmd';

  private constructor(dir: string, port: number, ownsDir: boolean, log?: (line: string) => void) {
    super(dir, port, ownsDir, log);
    this.startTimeoutMs = 10_000;
  }

  static start(opts: ServerOptions): Promise<EpmdServer> {
    return ManagedServer.startOnFreePort(
      'epmd',
      opts,
      (dir, port, ownsDir) => new EpmdServer(dir, port, ownsDir, opts.log),
    );
  }

  protected spawnSpec(): SpawnSpec {
    return {
      command: findBinary('epmd', 'EPMD_BIN'),
      args: ['-port', String(this.port), '-address', '127.0.0.1'],
    };
  }

  protected probe(): Promise<boolean> {
    return new Promise((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port: this.port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
  }
}

/** One RabbitMQ node of a RabbitMqCluster; `port` is its AMQP port. */
export class RabbitMqNode extends ManagedServer {
  protected readonly kind = 'rabbitmq';

  private constructor(
    dir: string,
    port: number,
    ownsDir: boolean,
    readonly index: number,
    readonly mqttPort: number,
    readonly distPort: number,
    private readonly shared: ClusterShared,
    log?: (line: string) => void,
  ) {
    super(dir, port, ownsDir, log);
    // Erlang boot plus Mnesia/Raft on 2 shared cores: ~10–20 s measured, much more under load.
    this.startTimeoutMs = 120_000;
    this.stopTimeoutMs = 30_000;
    this.probeTimeoutMs = 10_000;
  }

  /** A node with its ports chosen but not started (the cluster decides the start order). */
  static async prepared(
    shared: ClusterShared,
    index: number,
    log?: (line: string) => void,
  ): Promise<RabbitMqNode> {
    const name = shared.nodeNames[index]!;
    const dir = path.join(shared.dir, name.split('@')[0]!);
    mkdirSync(dir, { recursive: true });
    const [amqpPort, mqttPort, distPort] = [await freePort(), await freePort(), await freePort()];
    return new RabbitMqNode(dir, amqpPort, false, index, mqttPort, distPort, shared, log);
  }

  /** Erlang node name, e.g. `sfab12n1@localhost`. */
  get nodeName(): string {
    return this.shared.nodeNames[this.index]!;
  }

  /** amqp://admin:…@127.0.0.1:PORT (the harness's administrator). */
  get amqpUrl(): string {
    const { username, password } = this.shared.admin;
    return `amqp://${username}:${password}@127.0.0.1:${this.port}`;
  }

  /** mqtt://127.0.0.1:MQTT_PORT */
  get mqttUrl(): string {
    return `mqtt://127.0.0.1:${this.mqttPort}`;
  }

  get logFile(): string {
    return path.join(this.dir, 'log', `${this.nodeName}.log`);
  }

  /** The variables this node and the CLI aimed at it run with. */
  get env(): NodeJS.ProcessEnv {
    return {
      ...clusterEnv(this.shared, this.dir),
      RABBITMQ_NODENAME: this.nodeName,
      RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
      RABBITMQ_NODE_PORT: String(this.port),
      RABBITMQ_DIST_PORT: String(this.distPort),
      RABBITMQ_CONFIG_FILE: path.join(this.dir, 'rabbitmq.conf'),
      RABBITMQ_ENABLED_PLUGINS_FILE: path.join(this.dir, 'enabled_plugins'),
      RABBITMQ_MNESIA_BASE: path.join(this.dir, 'mnesia'),
      RABBITMQ_LOG_BASE: path.join(this.dir, 'log'),
      RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
    };
  }

  protected override serverLogFile(): string {
    return this.logFile;
  }

  protected override async prepare(): Promise<void> {
    const { admin, nodeNames } = this.shared;
    const lines = [
      '# generated by the sensorfleet test harness (tools/src/harness/rabbitmq.ts)',
      `listeners.tcp.local = 127.0.0.1:${this.port}`,
      `mqtt.listeners.tcp.local = 127.0.0.1:${this.mqttPort}`,
      'mqtt.allow_anonymous = false',
      'mqtt.vhost = /',
      'mqtt.exchange = amq.topic',
      // Created on the first boot of a blank cluster only; joining nodes get the cluster's users.
      `default_user = ${admin.username}`,
      `default_pass = ${admin.password}`,
      'default_user_tags.administrator = true',
      'default_permissions.configure = .*',
      'default_permissions.read = .*',
      'default_permissions.write = .*',
      'log.console = false',
      'log.file.level = info',
      // Two shared cores: the default free-disk limit (50 MB) is fine, but a memory alarm at 40 % of a
      // small test machine's RAM split over three nodes would block publishers mid-test.
      'vm_memory_high_watermark.relative = 0.8',
    ];
    if (this.shared.quorumSessionQueues) lines.push('mqtt.durable_queue_type = quorum');
    if (this.index > 0) {
      // Joins node 1 on its first (blank) boot; a node with data skips discovery and rejoins its cluster.
      lines.push('cluster_formation.peer_discovery_backend = classic_config');
      lines.push(`cluster_formation.classic_config.nodes.1 = ${nodeNames[0]}`);
    }
    if (this.shared.extraConfig) lines.push('', '# extraConfig', this.shared.extraConfig);
    writeFileSync(path.join(this.dir, 'rabbitmq.conf'), lines.join('\n') + '\n');
    writeFileSync(
      path.join(this.dir, 'rabbitmq-env.conf'),
      '# empty: replaces /etc/rabbitmq/rabbitmq-env.conf\n',
    );
    writeFileSync(path.join(this.dir, 'enabled_plugins'), '[rabbitmq_mqtt].\n');
    mkdirSync(path.join(this.dir, 'log'), { recursive: true });
  }

  protected spawnSpec(): SpawnSpec {
    return { command: path.join(RABBITMQ_BIN_DIR, 'rabbitmq-server'), args: [], env: this.env };
  }

  protected async probe(): Promise<boolean> {
    // An AMQP login with the cluster's admin proves it is our node (another broker would refuse it);
    // the MQTT listener starts with the plugin, slightly after AMQP.
    const conn = await amqp.connect(this.amqpUrl, { timeout: 5000 });
    await conn.close().catch(() => undefined);
    await mqttConnectProbe(this.mqttPort);
    return true;
  }
}

/** Output of one CLI run. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export class RabbitMqCluster {
  private constructor(
    readonly dir: string,
    readonly nodes: RabbitMqNode[],
    private readonly epmd: EpmdServer,
    readonly admin: { username: string; password: string },
  ) {}

  /** Start a private cluster (see the file comment): node 1 first, then the others in parallel. */
  static start(opts: RabbitMqClusterOptions = {}): Promise<RabbitMqCluster> {
    return startWithFreshPorts('RabbitMQ cluster', () => RabbitMqCluster.startOnce(opts), opts.log);
  }

  private static async startOnce(opts: RabbitMqClusterOptions): Promise<RabbitMqCluster> {
    const count = opts.nodes ?? 3;
    if (!Number.isInteger(count) || count < 1) throw new Error(`nodes must be ≥ 1 (got ${count})`);
    const dir = mkdtempSync(path.join(harnessRoot(), 'rabbitmq-cluster-'));
    const home = path.join(dir, 'home');
    mkdirSync(home, { recursive: true });
    // Erlang creates a random cookie when none exists; the nodes and the CLI must share this one.
    const cookieFile = path.join(home, '.erlang.cookie');
    writeFileSync(cookieFile, randomBytes(20).toString('hex').toUpperCase());
    chmodSync(cookieFile, 0o400);
    const tag = randomBytes(3).toString('hex');
    const epmd = await EpmdServer.start({
      dir: path.join(dir, 'epmd'),
      ...(opts.log ? { log: opts.log } : {}),
    });
    const shared: ClusterShared = {
      dir,
      home,
      epmdPort: epmd.port,
      tag,
      admin: { username: 'harness-admin', password: randomBytes(12).toString('hex') },
      nodeNames: Array.from({ length: count }, (_, i) => `sf${tag}n${i + 1}@localhost`),
      quorumSessionQueues: opts.quorumSessionQueues ?? true,
      extraConfig: opts.extraConfig ?? '',
    };
    const nodes: RabbitMqNode[] = [];
    for (let i = 0; i < count; i++) nodes.push(await RabbitMqNode.prepared(shared, i, opts.log));
    const cluster = new RabbitMqCluster(dir, nodes, epmd, shared.admin);
    try {
      await nodes[0]!.start();
      await Promise.all(nodes.slice(1).map((n) => n.start()));
      await cluster.waitForMembers(count);
    } catch (err) {
      await cluster.destroy().catch(() => undefined);
      throw err;
    }
    return cluster;
  }

  /** Comma-separated AMQP URLs of all nodes (admin account), the form `AMQP_URL` takes. */
  get amqpUrls(): string {
    return this.nodes.map((n) => n.amqpUrl).join(',');
  }

  /** Comma-separated MQTT URLs of all nodes, the form `MQTT_URL` takes. */
  get mqttUrls(): string {
    return this.nodes.map((n) => n.mqttUrl).join(',');
  }

  /** A running node to send CLI commands to (the first one up). */
  private anyRunning(): RabbitMqNode {
    const node = this.nodes.find((n) => n.running);
    if (!node) throw new Error('no RabbitMQ node of the cluster is running');
    return node;
  }

  /**
   * Run a CLI tool (`rabbitmqctl`, `rabbitmq-queues`, `rabbitmq-diagnostics`) against `node` (default:
   * a running one) with the cluster's cookie and epmd.
   */
  cli(tool: string, args: string[], node: RabbitMqNode = this.anyRunning()): Promise<CliResult> {
    return new Promise((resolve, reject) => {
      const child = spawn(path.join(RABBITMQ_BIN_DIR, tool), ['-n', node.nodeName, ...args], {
        env: { ...process.env, ...node.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
      child.once('error', reject);
      child.once('close', (code) => resolve({ code, stdout, stderr }));
    });
  }

  /** `rabbitmqctl …`; throws with its output when it fails. */
  async ctl(args: string[], node?: RabbitMqNode): Promise<string> {
    const result = await this.cli('rabbitmqctl', args, node);
    if (result.code !== 0)
      throw new Error(
        `rabbitmqctl ${args.join(' ')} failed (${result.code}): ${result.stderr || result.stdout}`,
      );
    return result.stdout;
  }

  /** Names of the running cluster members as the node asked sees them. */
  async runningMembers(node?: RabbitMqNode): Promise<string[]> {
    const out = await this.ctl(['cluster_status', '--formatter', 'json'], node);
    const status = JSON.parse(out) as { running_nodes?: string[] };
    return status.running_nodes ?? [];
  }

  /** Waits until `count` nodes run as one cluster. */
  async waitForMembers(count: number, timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last: string[] = [];
    while (Date.now() < deadline) {
      try {
        last = await this.runningMembers();
        if (last.length >= count) return;
      } catch {
        // a node is still booting
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error(`cluster has ${last.length} running members, wanted ${count}: ${last.join(', ')}`);
  }

  /** The node that leads quorum queue `queue` (vhost `/`), or undefined when it has none right now. */
  async queueLeader(queue: string): Promise<RabbitMqNode | undefined> {
    const out = await this.ctl(['list_queues', '-q', 'name', 'leader', '--formatter', 'json']);
    const rows = JSON.parse(out) as { name: string; leader?: string }[];
    const leader = rows.find((r) => r.name === queue)?.leader;
    return this.nodes.find((n) => n.nodeName === leader);
  }

  /** Stops every node and the port mapper and deletes the cluster's dir. */
  async destroy(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop().catch(() => undefined)));
    await this.epmd.stop().catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  }
}
