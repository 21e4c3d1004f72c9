import type { Pool } from 'mariadb';
import { Gauge, type Logger, type Registry } from '@sensorfleet/shared';

/** Devices not heard from for this long count as quiet on the fleet dashboard. */
export const QUIET_AFTER_S = 300;

/** How long a scrape waits for the fleet query before it serves the previous values. */
const SCRAPE_WAIT_MS = 250;

/**
 * Fleet-wide figures from the `devices` table, read when Prometheus scrapes (each replica answers the
 * same: the dashboards take max() over replicas). Per-device series would explode with the fleet size,
 * so per-device detail stays in MariaDB (the Grafana table panel and the web admin read it there). A
 * failed query leaves the last values and is logged at debug: a scrape never fails because of it.
 */
export function registerFleetGauges(registry: Registry, pool: Pool, log: Logger): void {
  const r = [registry];
  let latest:
    { online: number; offline: number; quiet: number; backlog: number; oldestUnacked: number } | undefined;
  let reading: Promise<void> | undefined;
  const refresh = (): Promise<void> =>
    (reading ??= pool
      .query(
        `SELECT COALESCE(SUM(online = 1), 0) AS online, COALESCE(SUM(online = 0), 0) AS offline,
                COALESCE(SUM(last_seen IS NULL OR last_seen < UTC_TIMESTAMP(3) - INTERVAL ? SECOND), 0) AS quiet,
                COALESCE(SUM(CAST(JSON_VALUE(last_state, '$.backlog') AS UNSIGNED)), 0) AS backlog,
                COALESCE(TIMESTAMPDIFF(SECOND,
                  MIN(STR_TO_DATE(JSON_VALUE(last_state, '$.oldestUnackedTs'), '%Y-%m-%dT%H:%i:%s.%fZ')),
                  UTC_TIMESTAMP(3)), 0) AS oldestUnacked
           FROM devices`,
        [QUIET_AFTER_S],
      )
      .then((rows: Record<string, unknown>[]) => {
        const row = rows[0] ?? {};
        latest = {
          online: Number(row.online ?? 0),
          offline: Number(row.offline ?? 0),
          quiet: Number(row.quiet ?? 0),
          backlog: Number(row.backlog ?? 0),
          oldestUnacked: Math.max(0, Number(row.oldestUnacked ?? 0)),
        };
      })
      .catch((err: unknown) => log.debug({ err }, 'fleet gauges not refreshed'))
      .finally(() => (reading = undefined)));
  // A scrape must not wait for a database that is down or slow (the pool would hold it for its acquire
  // timeout, and Prometheus and /health probes time out): it waits briefly, then serves the last values
  // while the query goes on.
  const refreshed = (): Promise<void> => {
    let timer: NodeJS.Timeout | undefined;
    const wait = new Promise<void>((resolve) => (timer = setTimeout(resolve, SCRAPE_WAIT_MS)));
    return Promise.race([refresh(), wait]).finally(() => clearTimeout(timer));
  };

  new Gauge({
    name: 'sensorfleet_fleet_devices',
    help: 'devices in the registry by presence (online = retained online message true)',
    labelNames: ['state'],
    registers: r,
    async collect() {
      await refreshed();
      if (!latest) return;
      this.set({ state: 'online' }, latest.online);
      this.set({ state: 'offline' }, latest.offline);
    },
  });
  // One query per scrape: the concurrent collects of these gauges share it.
  const single = (name: string, help: string, value: (figures: NonNullable<typeof latest>) => number) =>
    new Gauge({
      name,
      help,
      registers: r,
      async collect() {
        await refreshed();
        if (latest) this.set(value(latest));
      },
    });
  single(
    'sensorfleet_fleet_quiet_devices',
    `devices not heard from for ${QUIET_AFTER_S} s or never`,
    (f) => f.quiet,
  );
  single(
    'sensorfleet_fleet_backlog_readings',
    'readings not yet stored, summed over the backlog each device last reported in its state',
    (f) => f.backlog,
  );
  single(
    'sensorfleet_fleet_oldest_unacked_age_seconds',
    'age of the oldest unacknowledged reading any device reported',
    (f) => f.oldestUnacked,
  );
}
