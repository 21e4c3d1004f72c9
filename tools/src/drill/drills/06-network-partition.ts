import { mqtthandlerEnv } from '@sensorfleet/mqtthandler/config';
import { httpGet, sleep } from '../../harness/index.js';
import type { Drill } from '../drill.js';
import type { DrillSystem } from '../drill-system.js';
import { runFault, seconds } from '../drill-steps.js';
import { serviceLogEntries } from '../service-log.js';

/** The shipped mqtthandler's reconnect delay cap (its MQTT_RECONNECT_MAX_MS default). */
const SHIPPED_RECONNECT_MAX_MS = Number(mqtthandlerEnv.MQTT_RECONNECT_MAX_MS.defaultText);

/**
 * A network partition: one device's Redis, sensor and mqtthandler run inside a network namespace and
 * reach the broker only over its veth pair; the pair drops every frame for the partition (a dead Wi-Fi:
 * no error, no answer) while the device measures at 10 Hz, then heals. Recovery = heal → backlog empty.
 * The full run keeps the mqtthandler's shipped keepalive and reconnect backoff (what users get); the
 * quick one a 5 s keepalive and a 2 s backoff cap so the reconnect path runs within seconds.
 */
export const networkPartition: Drill<DrillSystem> = {
  id: '6',
  name: 'network partition',
  quick: true,
  networkNamespace: true,
  run: async (system, scale, log) => {
    const ns = system.netns;
    if (!ns) throw new Error('drill 6 needs the system started with networkNamespace (root)');
    const id = 'drill-netns';
    const device = await system.addDevice(id, {
      wrap: ns.prefix,
      host: ns.nsAddress,
      brokerUrl: system.broker.deviceUrlAt(ns.hostAddress),
      // info: its connect / connection-lost lines are what the notes time the recovery by.
      mqtthandlerEnv: { LOG_LEVEL: 'info', ...(scale.quick ? { MQTT_KEEPALIVE_S: '5' } : {}) },
      ...(scale.quick ? {} : { shippedMqttDefaults: true }),
    });
    const insideSeq = async () =>
      Number(
        (await ns.exec('redis-cli', ['-p', String(device.redisServer.port), 'GET', device.keys.seq])).trim(),
      );
    const storedRows = async () => {
      const [r] = (await system.db.query(
        `SELECT COUNT(*) AS n FROM sensorfleet.readings WHERE device_id = ? AND sensor = 'temperature'`,
        [id],
      )) as { n: number | bigint }[];
      return Number(r?.n ?? 0);
    };
    const mqttLog = device.mqtthandler.outputLog;
    try {
      const health = await httpGet(device.sensor.healthUrl).then(
        (r) => r.status,
        (err: Error) => err.message,
      );
      let cutAt = 0;
      let healAt = 0;
      let seqAtCut = 0;
      let seqAtHeal = 0;
      let storedAfterCut = 0;
      let storedAtHeal = 0;
      return await runFault(
        system,
        {
          id: '6',
          name: `network partition ${seconds(scale.partitionMs)}`,
          deviceIds: [id],
          with004: false,
          fromZero: true,
          leadMs: 5000,
          fault: async () => {
            seqAtCut = await insideSeq();
            cutAt = Date.now();
            await ns.partition();
            // What was in flight lands; after that nothing of the device may arrive until the heal.
            await sleep(3000);
            storedAfterCut = await storedRows();
          },
          faultMs: Math.max(0, scale.partitionMs - 3000),
          heal: async () => {
            seqAtHeal = await insideSeq();
            storedAtHeal = await storedRows();
            healAt = Date.now();
            await ns.heal();
          },
          checks: async () => {
            const lostLines = serviceLogEntries(mqttLog, /broker connection lost/);
            const lost = lostLines.map((e) => e.time);
            const reconnects = serviceLogEntries(mqttLog, /connected to broker/)
              .map((e) => e.time)
              .filter((t) => t >= healAt);
            const lostAfterCut = lost.filter((t) => t >= cutAt);
            // The retry scheduled last before the heal: its delay is what the recovery waited out.
            const lastRetry = lostLines.filter((e) => e.time >= cutAt && e.time < healAt).at(-1);
            const lastDelay = lastRetry ? Number(lastRetry.fields.delayMs) : NaN;
            const retryDue =
              lastRetry && Number.isFinite(lastDelay) ? lastRetry.time + lastDelay - healAt : null;
            const measured = seqAtHeal - seqAtCut;
            const expected = Math.floor((scale.partitionMs / system.intervalMs) * 0.8);
            const detected = lostAfterCut[0] !== undefined ? lostAfterCut[0] - cutAt : null;
            const reconnected = reconnects[0] !== undefined ? reconnects[0] - healAt : null;
            const cap = scale.quick ? 2000 : SHIPPED_RECONNECT_MAX_MS;
            return [
              {
                ok: health === 200 && device.sensor.healthUrl.includes(ns.nsAddress),
                note: `the harness reaches the sensor inside the namespace (${device.sensor.healthUrl} → ${health})`,
              },
              {
                ok: measured >= expected,
                note: `the device measured ${measured} readings during the partition (≥ ${expected} expected at 10 Hz)`,
              },
              {
                ok: storedAtHeal === storedAfterCut,
                note: `nothing of the device reached MariaDB while cut (${storedAfterCut} rows 3 s after the cut, ${storedAtHeal} at the heal)`,
              },
              {
                // Either the old connection outlived the cut or a new one was made after the heal.
                ok: detected === null || reconnected !== null,
                note:
                  `what decided the recovery: mqtthandler: link loss noticed ${detected === null ? 'never (the TCP connection outlived the cut)' : `${seconds(detected)} after the cut`}, ` +
                  `${lost.filter((t) => t >= cutAt && t < healAt).length} loss/retry log line(s) while cut, ` +
                  (retryDue === null
                    ? ''
                    : `the last retry before the heal (attempt ${String(lastRetry!.fields.attempt)}) waited ${seconds(lastDelay)}, due ${seconds(retryDue)} after the heal, `) +
                  `reconnected ${reconnected === null ? 'without a new connection (the old one resumed)' : `${seconds(reconnected)} after the heal`}; ` +
                  `keepalive ${scale.quick ? '5 s' : '30 s (shipped)'}, reconnect backoff cap ${seconds(cap)}${scale.quick ? '' : ' (shipped)'}`,
              },
            ];
          },
          notes: [
            `device ${id} in network namespace ${ns.name} (${ns.nsAddress}), broker at ${ns.hostAddress} on the veth pair`,
          ],
        },
        log,
      );
    } finally {
      await system.removeDevice(id);
    }
  },
};
