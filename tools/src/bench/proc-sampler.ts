import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ; 100 on every Linux we run on). */
const CLK_TCK = 100;

/** Resident set size of a process in bytes (VmRSS of /proc/<pid>/status), undefined when it is gone. */
export function readRssBytes(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Anonymous resident memory in bytes (RssAnon: heap, stacks; not the file-backed pages of the node binary,
 * which processes running the same binary share), undefined when it is gone.
 */
export function readRssAnonBytes(pid: number): number | undefined {
  try {
    const m = /^RssAnon:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** VmRSS, RssAnon and RssFile of a process in bytes from one read of /proc/<pid>/status; undefined when gone. */
export function readMemoryBytes(pid: number): { rss: number; anon: number; file: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) =>
      Number(new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
    const rss = kb('VmRSS');
    return Number.isFinite(rss) ? { rss, anon: kb('RssAnon'), file: kb('RssFile') } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Proportional set size in bytes from the text of /proc/<pid>/smaps_rollup: each resident page divided by
 * the number of processes mapping it, so pages of the node binary that several node processes share are
 * split between them (VmRSS counts them in full in each). Undefined when the field is missing.
 */
export function parsePssBytes(smapsRollup: string): number | undefined {
  const m = /^Pss:\s+(\d+)\s+kB/m.exec(smapsRollup);
  return m ? Number(m[1]) * 1024 : undefined;
}

/** Pss of a process in bytes (/proc/<pid>/smaps_rollup, Linux ≥ 4.14), undefined when it is gone. */
export function readPssBytes(pid: number): number | undefined {
  try {
    return parsePssBytes(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** User + system CPU seconds a process has used so far (children not included). */
export function readCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state): utime is field 14, stime field 15.
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return undefined;
  }
}

/**
 * Seconds the process's main thread has spent waiting on a CPU run queue (runnable, not running): the
 * second field of /proc/<pid>/schedstat, in ns. For Node that thread is the event loop.
 */
export function readRunQueueWaitSeconds(pid: number): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/schedstat`, 'utf8').trim().split(/\s+/);
    const ns = Number(fields[1]);
    return Number.isFinite(ns) ? ns / 1e9 : undefined;
  } catch {
    return undefined;
  }
}

export interface ProcUsage {
  /** Highest VmRSS seen, MB (1 MB = 2^20 bytes). */
  peakRssMb: number;
  /** Highest RssAnon seen, MB: the process's own memory, without the shared file-backed pages. */
  peakRssAnonMb: number;
  /** Highest RssFile seen, MB: file-backed pages (mostly the node binary's code and data). */
  peakRssFileMb: number;
  /** Highest Pss seen, MB (NaN unless the sampler was asked for it: smaps_rollup walks the page tables). */
  peakPssMb: number;
  /** CPU seconds used while sampling. */
  cpuSeconds: number;
  /** Seconds the main thread waited on a run queue while sampling (runnable but not given a CPU). */
  runQueueWaitSeconds: number;
}

/**
 * Samples named processes every `intervalMs` (default 200 ms): peak RSS, and CPU seconds between
 * start() and stop(). `self` (this process) is measured with process.cpuUsage/memoryUsage.
 */
export class ProcSampler {
  private timer: NodeJS.Timeout | undefined;
  private readonly peak = new Map<string, number>();
  private readonly peakAnon = new Map<string, number>();
  private readonly peakFile = new Map<string, number>();
  private readonly peakPss = new Map<string, number>();
  private readonly cpuAtStart = new Map<string, number>();
  private readonly cpuLast = new Map<string, number>();
  private readonly waitAtStart = new Map<string, number>();
  private readonly waitLast = new Map<string, number>();
  private selfCpuStart: NodeJS.CpuUsage | undefined;

  constructor(
    private readonly pids: Record<string, number | undefined>,
    private readonly intervalMs = 200,
    private readonly opts: { pss?: boolean } = {},
  ) {}

  start(): void {
    this.selfCpuStart = process.cpuUsage();
    for (const [name, pid] of Object.entries(this.pids)) {
      if (pid === undefined) continue;
      const cpu = readCpuSeconds(pid);
      if (cpu !== undefined) this.cpuAtStart.set(name, cpu);
      const wait = readRunQueueWaitSeconds(pid);
      if (wait !== undefined) this.waitAtStart.set(name, wait);
    }
    const selfWait = readRunQueueWaitSeconds(process.pid);
    if (selfWait !== undefined) this.waitAtStart.set('bench', selfWait);
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
  }

  private sample(): void {
    for (const [name, pid] of Object.entries(this.pids)) {
      if (pid === undefined) continue;
      const mem = readMemoryBytes(pid);
      if (mem !== undefined) {
        this.peak.set(name, Math.max(this.peak.get(name) ?? 0, mem.rss));
        this.peakAnon.set(name, Math.max(this.peakAnon.get(name) ?? 0, mem.anon));
        this.peakFile.set(name, Math.max(this.peakFile.get(name) ?? 0, mem.file));
      }
      const pss = this.opts.pss ? readPssBytes(pid) : undefined;
      if (pss !== undefined) this.peakPss.set(name, Math.max(this.peakPss.get(name) ?? 0, pss));
      const cpu = readCpuSeconds(pid);
      if (cpu !== undefined) this.cpuLast.set(name, cpu);
      const wait = readRunQueueWaitSeconds(pid);
      if (wait !== undefined) this.waitLast.set(name, wait);
    }
    const selfWait = readRunQueueWaitSeconds(process.pid);
    if (selfWait !== undefined) this.waitLast.set('bench', selfWait);
    const selfRss = process.memoryUsage.rss();
    this.peak.set('bench', Math.max(this.peak.get('bench') ?? 0, selfRss));
    const self = readMemoryBytes(process.pid);
    if (self !== undefined) {
      this.peakAnon.set('bench', Math.max(this.peakAnon.get('bench') ?? 0, self.anon));
      this.peakFile.set('bench', Math.max(this.peakFile.get('bench') ?? 0, self.file));
    }
  }

  stop(): Record<string, ProcUsage> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.sample();
    const out: Record<string, ProcUsage> = {};
    const waited = (name: string) => {
      const start = this.waitAtStart.get(name);
      const last = this.waitLast.get(name);
      return start !== undefined && last !== undefined ? last - start : NaN;
    };
    for (const name of Object.keys(this.pids)) {
      const start = this.cpuAtStart.get(name);
      const last = this.cpuLast.get(name);
      out[name] = {
        peakRssMb: (this.peak.get(name) ?? NaN) / 2 ** 20,
        peakRssAnonMb: (this.peakAnon.get(name) ?? NaN) / 2 ** 20,
        peakRssFileMb: (this.peakFile.get(name) ?? NaN) / 2 ** 20,
        peakPssMb: (this.peakPss.get(name) ?? NaN) / 2 ** 20,
        cpuSeconds: start !== undefined && last !== undefined ? last - start : NaN,
        runQueueWaitSeconds: waited(name),
      };
    }
    const self = process.cpuUsage(this.selfCpuStart);
    out['bench'] = {
      peakRssMb: (this.peak.get('bench') ?? NaN) / 2 ** 20,
      peakRssAnonMb: (this.peakAnon.get('bench') ?? NaN) / 2 ** 20,
      peakRssFileMb: (this.peakFile.get('bench') ?? NaN) / 2 ** 20,
      peakPssMb: NaN,
      cpuSeconds: (self.user + self.system) / 1e6,
      runQueueWaitSeconds: waited('bench'),
    };
    return out;
  }
}
