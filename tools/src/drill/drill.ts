/**
 * The contract between the drill runner (`npm run drill`), the system it drives (drill-system.ts) and
 * each fault drill (drills/*.ts, one fault per file). A drill breaks one thing in a running system, lets
 * it recover, and reports what MariaDB holds against what the devices produced.
 */

/** One row of the drill table (printed, and written to bench-results/drills.json). */
export interface DrillResult {
  /** Number in the issue's list and a short name, e.g. `1` / `broker down 60 s`. */
  id: string;
  name: string;
  /** Readings the devices measured during the drill's window (by seq, all devices). */
  produced: number;
  /** Distinct (device, seq) rows in MariaDB for that window. */
  stored: number;
  /** produced − stored: seqs missing from MariaDB. */
  lost: number;
  /** Rows stored more than once for the same (device, seq, sensor): must be 0. */
  duplicated: number;
  /**
   * Loss the devices themselves counted and reported (outbox bound drops, appends Redis lost in a power
   * cut); a drill passes only if `lost` equals this (every missing seq accounted for) and it is within
   * the drill's allowance.
   */
  countedLoss: number;
  /**
   * countedLoss is an upper bound of the loss, not an exact count (drill 5b: a power cut makes the device
   * count appends that had reached the backend already); the verdict then checks lost ≤ counted.
   */
  countedIsBound?: true;
  /** Fault end → every device's outbox empty (null when the drill has no single fault end). */
  recoveryMs: number | null;
  /** Largest measured → committed latency of readings measured after the fault ended, while recovering. */
  maxLiveLatencyMs: number | null;
  /**
   * The source-004 publisher's messages in the window (absent when the drill does not audit it): the
   * broker PUBACKed `published`, MariaDB holds `stored`. They are part of produced/stored/lost above.
   */
  compat004?: { published: number; stored: number; lost: number };
  /**
   * Set when the drill passes only because its loss is a documented limit (README "Known limits"), e.g.
   * 004 messages a restarted Mosquitto 2.0.11 drops before the receivers resubscribe: the table shows
   * `pass*` and this text as a footnote. `passed` is true then.
   */
  knownLimit?: string;
  passed: boolean;
  /** What the drill checked beyond the counts, and why it failed if it did. */
  notes: string[];
}

/** Fault lengths: the full drill uses the issue's, the quick subset in `npm test` short ones. */
export interface DrillScale {
  outageMs: number;
  partitionMs: number;
  quick: boolean;
}

export interface Drill<System> {
  id: string;
  name: string;
  /** Part of the quick subset that runs in `npm test`. */
  quick: boolean;
  /** Needs the system's network namespace (a device inside it, the broker listening on its host side). */
  networkNamespace?: boolean;
  run(system: System, scale: DrillScale, log: (line: string) => void): Promise<DrillResult>;
}
