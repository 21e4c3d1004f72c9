/**
 * Mosquitto's `$SYS/broker/…` statistics as Prometheus samples. Only the topics the dashboards and an
 * operator need: Mosquitto publishes ~70, many of them per-minute load averages that Prometheus computes
 * better itself from the counters with `rate()`.
 *
 * Counters are the broker's own running totals (since it started); when the broker restarts they fall back
 * to zero, which Prometheus' `rate()` reads as a counter reset, as it should.
 */
export type SysMetricKind = 'counter' | 'gauge';

export interface SysMetric {
  /** Metric name without the `sensorfleet_` prefix. */
  name: string;
  kind: SysMetricKind;
  help: string;
}

export const SYS_METRICS: Record<string, SysMetric> = {
  '$SYS/broker/clients/connected': {
    name: 'broker_clients_connected',
    kind: 'gauge',
    help: 'clients connected to the broker now',
  },
  '$SYS/broker/clients/disconnected': {
    name: 'broker_clients_disconnected',
    kind: 'gauge',
    help: 'persistent-session clients that are disconnected (their session and queue are kept)',
  },
  '$SYS/broker/clients/maximum': {
    name: 'broker_clients_maximum',
    kind: 'gauge',
    help: 'most clients connected at once since the broker started',
  },
  '$SYS/broker/subscriptions/count': {
    name: 'broker_subscriptions',
    kind: 'gauge',
    help: 'subscriptions held by the broker',
  },
  '$SYS/broker/retained messages/count': {
    name: 'broker_retained_messages',
    kind: 'gauge',
    help: 'retained messages held by the broker',
  },
  '$SYS/broker/store/messages/count': {
    name: 'broker_stored_messages',
    kind: 'gauge',
    help: 'messages held by the broker (queued for offline sessions, in flight, retained)',
  },
  '$SYS/broker/store/messages/bytes': {
    name: 'broker_stored_message_bytes',
    kind: 'gauge',
    help: 'payload bytes of the messages the broker holds',
  },
  '$SYS/broker/heap/current': {
    name: 'broker_heap_bytes',
    kind: 'gauge',
    help: 'heap the broker uses (when built with memory tracking)',
  },
  '$SYS/broker/uptime': {
    name: 'broker_uptime_seconds',
    kind: 'gauge',
    help: 'seconds since the broker started',
  },
  '$SYS/broker/messages/received': {
    name: 'broker_messages_received_total',
    kind: 'counter',
    help: 'MQTT packets of any type the broker received',
  },
  '$SYS/broker/messages/sent': {
    name: 'broker_messages_sent_total',
    kind: 'counter',
    help: 'MQTT packets of any type the broker sent',
  },
  '$SYS/broker/publish/messages/received': {
    name: 'broker_publish_received_total',
    kind: 'counter',
    help: 'PUBLISH messages the broker received',
  },
  '$SYS/broker/publish/messages/sent': {
    name: 'broker_publish_sent_total',
    kind: 'counter',
    help: 'PUBLISH messages the broker sent',
  },
  '$SYS/broker/publish/messages/dropped': {
    name: 'broker_publish_dropped_total',
    kind: 'counter',
    help: 'PUBLISH messages dropped (queue limits of offline or slow clients)',
  },
  '$SYS/broker/bytes/received': {
    name: 'broker_received_bytes_total',
    kind: 'counter',
    help: 'bytes the broker received',
  },
  '$SYS/broker/bytes/sent': {
    name: 'broker_sent_bytes_total',
    kind: 'counter',
    help: 'bytes the broker sent',
  },
};

/**
 * The number in a `$SYS` payload: plain (`42`), or with a unit (`1234 seconds`, as `uptime` is sent).
 * Undefined for anything else, so a broker that changes a format shows a gap, not a wrong value.
 */
export function parseSysValue(payload: string): number | undefined {
  const m = /^\s*(-?\d+(?:\.\d+)?)(?:\s+seconds)?\s*$/.exec(payload);
  if (!m) return undefined;
  const v = Number(m[1]);
  return Number.isFinite(v) ? v : undefined;
}
