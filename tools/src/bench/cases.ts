/** The cases of `npm run bench` and their sizes. */

export interface BenchCase {
  name: string;
  /** `live`: every device publishes from seq 1 as fast as its window allows; `backlog`: a replay after an outage. */
  kind: 'live' | 'backlog';
  devices: number;
  readingsPerMessage: number;
  readingsPerDevice: number;
  receivers: 1 | 2;
  /**
   * MQTT connections the simulated devices publish over: one per device up to 100 devices; above that a
   * handful of connections publish on behalf of many device ids (possible because this broker has no ACL).
   */
  connections: number;
}

/** One connection per device up to this many devices; more devices share this many connections. */
export const MAX_CONNECTIONS = 100;
export const SHARED_CONNECTIONS = 10;

export interface CaseSizes {
  /** Readings per live case with 1 reading per message (= messages). */
  smallMessageReadings: number;
  /** Readings per live case with 50 readings per message. */
  largeMessageReadings: number;
  backlogDevices: number;
  backlogReadingsPerDevice: number;
  backlogReadingsPerMessage: number;
  /** false (quick runs): a device may send fewer readings than one message holds, to keep cases tiny. */
  wholeMessages: boolean;
}

export const DEFAULT_SIZES: CaseSizes = {
  smallMessageReadings: 40_000,
  largeMessageReadings: 90_000,
  backlogDevices: 10,
  backlogReadingsPerDevice: 10_000,
  backlogReadingsPerMessage: 100,
  wholeMessages: true,
};

/** BENCH_QUICK=1: every case tiny (a smoke test of the whole machinery, not a measurement). */
export const QUICK_SIZES: CaseSizes = {
  smallMessageReadings: 1_000,
  largeMessageReadings: 2_000,
  backlogDevices: 10,
  backlogReadingsPerDevice: 300,
  backlogReadingsPerMessage: 100,
  wholeMessages: false,
};

/**
 * Readings per device: about total/devices, a whole number of messages, at least one message (or with
 * `wholeMessages` false, at least one reading).
 */
export function readingsPerDevice(
  total: number,
  devices: number,
  readingsPerMessage: number,
  wholeMessages = true,
): number {
  if (!wholeMessages) return Math.max(1, Math.round(total / devices));
  const messages = Math.max(1, Math.round(total / devices / readingsPerMessage));
  return messages * readingsPerMessage;
}

export function connectionsFor(devices: number): number {
  return devices <= MAX_CONNECTIONS ? devices : SHARED_CONNECTIONS;
}

/** devices {10, 100, 1000} × readings per message {1, 50} × receivers {1, 2}, then the backlog replay. */
export function benchCases(sizes: CaseSizes): BenchCase[] {
  const cases: BenchCase[] = [];
  for (const readingsPerMessage of [1, 50]) {
    const total = readingsPerMessage === 1 ? sizes.smallMessageReadings : sizes.largeMessageReadings;
    for (const devices of [10, 100, 1000]) {
      for (const receivers of [1, 2] as const) {
        cases.push({
          name: `live-d${devices}-m${readingsPerMessage}-r${receivers}`,
          kind: 'live',
          devices,
          readingsPerMessage,
          readingsPerDevice: readingsPerDevice(total, devices, readingsPerMessage, sizes.wholeMessages),
          receivers,
          connections: connectionsFor(devices),
        });
      }
    }
  }
  cases.push({
    name: `backlog-d${sizes.backlogDevices}-m${sizes.backlogReadingsPerMessage}-r1`,
    kind: 'backlog',
    devices: sizes.backlogDevices,
    readingsPerMessage: sizes.backlogReadingsPerMessage,
    readingsPerDevice: sizes.backlogReadingsPerDevice,
    receivers: 1,
    connections: connectionsFor(sizes.backlogDevices),
  });
  return cases;
}

/**
 * BENCH_CASES: comma-separated names or substrings (`m50`, `live-d100-m1-r2`, `backlog`); a case runs
 * when any of them occurs in its name. Empty = all.
 */
export function selectCases(cases: readonly BenchCase[], filter: string | undefined): BenchCase[] {
  const parts = (filter ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (!parts.length) return [...cases];
  return cases.filter((c) => parts.some((p) => c.name.includes(p)));
}
