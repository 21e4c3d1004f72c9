/**
 * A private network namespace joined to the host by a veth pair, for network faults between a device and
 * its broker (drill 6: the link cut for minutes). Processes run inside with `prefix` (a ManagedServer's
 * `wrap`); they reach the host only at `hostAddress`, the host reaches them at `nsAddress`, and there is no
 * other route: nothing inside can reach anything external.
 *
 * partition() puts a zero-length FIFO qdisc (`tc qdisc add … root pfifo limit 0`) on both ends of the
 * pair: every frame either way is dropped silently at egress, while links, addresses, routes and
 * sockets stay up. That is a dead Wi-Fi as TCP sees it: established connections get no error and no
 * answer (only retransmits and keepalives decide when the link counts as gone), new connects hang. The
 * alternatives do not fit: a link set down removes its routes, so connects fail at once with
 * ENETUNREACH; netem loss and nft/iptables drops need kernel modules or tools that are not always there
 * (this sandbox has neither sch_netem nor nft); pfifo is always built in.
 *
 * Needs root (CAP_NET_ADMIN) and iproute2. Every namespace is named `sfh-<pid>-<start ticks>-<random>`
 * after the process that made it: destroy() removes it, process exit removes it (run-root), and
 * sweepStaleNamespaces() removes those of processes that are gone (the veth pair goes with its namespace).
 */
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { isSameProcess, procStartTicks } from './proc.js';
import { onExitCleanup } from './run-root.js';

const NAME_PREFIX = 'sfh-';
/** Addresses come from 10.213.0.0/16, one /30 per namespace (host .1, namespace .2 of the block). */
const SUBNET_BASE = [10, 213] as const;

export interface NetworkNamespaceOptions {
  /** Receives the commands run, prefixed with `[netns:<name>]`. */
  log?: (line: string) => void;
}

function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: 15_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${command} ${args.join(' ')} failed: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });
}

/** The /30 blocks in use by any IPv4 address on this host (their third and fourth octet / 4). */
async function usedBlocks(): Promise<Set<number>> {
  const out = await run('ip', ['-o', '-4', 'addr', 'show']);
  const used = new Set<number>();
  for (const m of out.matchAll(/inet (\d+)\.(\d+)\.(\d+)\.(\d+)/g)) {
    if (Number(m[1]) === SUBNET_BASE[0] && Number(m[2]) === SUBNET_BASE[1])
      used.add((Number(m[3]) * 256 + Number(m[4])) >> 2);
  }
  return used;
}

function blockAddress(block: number, host: 1 | 2): string {
  const n = block * 4 + host;
  return `${SUBNET_BASE[0]}.${SUBNET_BASE[1]}.${n >> 8}.${n & 0xff}`;
}

export class NetworkNamespace {
  private cut = false;
  private destroyed = false;
  private readonly unregister: () => void;

  private constructor(
    /** The namespace's name (`ip netns exec <name> …`). */
    readonly name: string,
    /** The veth end on the host. */
    readonly hostInterface: string,
    /** The veth end inside the namespace. */
    readonly nsInterface: string,
    /** The host's address on the pair: what processes inside connect to (e.g. a broker's extra listener). */
    readonly hostAddress: string,
    /** The namespace's address: where the host reaches processes inside. */
    readonly nsAddress: string,
    private readonly log?: (line: string) => void,
  ) {
    this.unregister = onExitCleanup(() => deleteNamespaceSync(name));
  }

  /** Create the namespace, the veth pair and its addresses, and bring loopback and the pair up. */
  static async create(opts: NetworkNamespaceOptions = {}): Promise<NetworkNamespace> {
    if (process.getuid?.() !== 0)
      throw new Error('network namespaces need root (CAP_NET_ADMIN): run this test as root');
    const id = randomBytes(3).toString('hex');
    const name = `${NAME_PREFIX}${process.pid}-${procStartTicks(process.pid) ?? 0}-${id}`;
    const hostIf = `sfh${id}h`;
    const nsIf = `sfh${id}n`;
    const used = await usedBlocks();
    let block = randomInt(0, 16_384);
    for (let i = 0; used.has(block) && i < 16_384; i++) block = (block + 1) % 16_384;
    const hostAddress = blockAddress(block, 1);
    const nsAddress = blockAddress(block, 2);
    const ns = new NetworkNamespace(name, hostIf, nsIf, hostAddress, nsAddress, opts.log);
    const steps: [string, ...string[]][] = [
      ['ip', 'netns', 'add', name],
      ['ip', 'link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf],
      ['ip', 'link', 'set', nsIf, 'netns', name],
      ['ip', 'addr', 'add', `${hostAddress}/30`, 'dev', hostIf],
      ['ip', 'link', 'set', hostIf, 'up'],
      ['ip', 'netns', 'exec', name, 'ip', 'addr', 'add', `${nsAddress}/30`, 'dev', nsIf],
      ['ip', 'netns', 'exec', name, 'ip', 'link', 'set', nsIf, 'up'],
      ['ip', 'netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up'],
    ];
    try {
      for (const [command, ...args] of steps) await ns.command(command, args);
    } catch (err) {
      await ns.destroy();
      throw err;
    }
    ns.emit(`ready: host ${hostAddress} (${hostIf}) <-> namespace ${nsAddress} (${nsIf})`);
    return ns;
  }

  /** Command prefix that runs a process inside (execs it: the pid stays the process's own). */
  get prefix(): string[] {
    return ['ip', 'netns', 'exec', this.name];
  }

  get partitioned(): boolean {
    return this.cut;
  }

  /** Cut the link both ways, silently (see the file comment). Idempotent. */
  async partition(): Promise<void> {
    if (this.cut) return;
    await this.command('tc', ['qdisc', 'replace', 'dev', this.hostInterface, 'root', 'pfifo', 'limit', '0']);
    await this.command('ip', [
      ...['netns', 'exec', this.name],
      ...['tc', 'qdisc', 'replace', 'dev', this.nsInterface, 'root', 'pfifo', 'limit', '0'],
    ]);
    this.cut = true;
  }

  /** Restore the link (frames flow again; connections that survived resume). Idempotent. */
  async heal(): Promise<void> {
    if (!this.cut) return;
    await this.command('tc', ['qdisc', 'del', 'dev', this.hostInterface, 'root']);
    await this.command('ip', [
      ...['netns', 'exec', this.name],
      ...['tc', 'qdisc', 'del', 'dev', this.nsInterface, 'root'],
    ]);
    this.cut = false;
  }

  /** Run a command inside the namespace and return its stdout (e.g. redis-cli while the link is cut). */
  exec(command: string, args: string[]): Promise<string> {
    return run('ip', ['netns', 'exec', this.name, command, ...args]);
  }

  /** Remove the namespace (and with it the veth pair). Processes inside should be stopped first. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    this.unregister();
    await run('ip', ['netns', 'del', this.name]).catch(() => undefined);
    // A pair made but not yet moved into the namespace would stay behind.
    await run('ip', ['link', 'del', this.hostInterface]).catch(() => undefined);
    this.emit('destroyed');
  }

  private async command(command: string, args: string[]): Promise<void> {
    this.emit(`${command} ${args.join(' ')}`);
    await run(command, args);
  }

  private emit(line: string): void {
    try {
      this.log?.(`[netns:${this.name}] ${line}`);
    } catch {
      // a throwing log callback must not break the namespace's lifecycle
    }
  }
}

function deleteNamespaceSync(name: string): void {
  execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore', timeout: 5000 });
}

/**
 * Remove the namespaces of harness processes that no longer run (crashed test runs); returns their
 * names. A host without iproute2 (or without permission to list namespaces) has none to sweep.
 */
export function sweepStaleNamespaces(): string[] {
  let list: string;
  try {
    list = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const line of list.split('\n')) {
    const name = line.trim().split(/\s+/)[0] ?? '';
    const m = /^sfh-(\d+)-(\d+)-[0-9a-f]+$/.exec(name);
    if (!m) continue;
    if (isSameProcess(Number(m[1]), m[2] === '0' ? undefined : m[2])) continue;
    try {
      deleteNamespaceSync(name);
      removed.push(name);
    } catch {
      // someone else removed it meanwhile
    }
  }
  return removed;
}
