/**
 * MQTT topics (docs/design.md#mqtt-topics-and-payloads). Builders are the only place topic strings are spelled out, so the device and
 * the backend cannot drift apart.
 */
export const TOPIC_ROOT = 'devices';
/** Presence of the backend's receiver replicas (see `topics.receiverOnline`). */
export const RECEIVERS_ROOT = 'receivers';

/** Device ids become topic levels: no wildcards, separators or control characters. */
export const DEVICE_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$';
export const DEVICE_ID_REGEX = new RegExp(DEVICE_ID_PATTERN);

export const topics = {
  telemetry: (id: string) => `${TOPIC_ROOT}/${id}/telemetry`,
  ack: (id: string) => `${TOPIC_ROOT}/${id}/ack`,
  commands: (id: string) => `${TOPIC_ROOT}/${id}/commands`,
  commandResult: (id: string) => `${TOPIC_ROOT}/${id}/commands/result`,
  state: (id: string) => `${TOPIC_ROOT}/${id}/state`,
  online: (id: string) => `${TOPIC_ROOT}/${id}/online`,
  compatData: (id: string) => `${TOPIC_ROOT}/${id}/data`,
  compatStatus: (id: string) => `${TOPIC_ROOT}/${id}/status`,
  compatHeartbeat: (id: string) => `${TOPIC_ROOT}/${id}/heartbeat`,
  /**
   * A receiver replica's presence: retained `true` once its subscriptions are in place, `false` as its
   * last will. Devices resend their unacked window when a live `true` arrives (the broker may have
   * dropped what they sent while no receiver was subscribed).
   */
  receiverOnline: (replicaId: string) => `${RECEIVERS_ROOT}/${replicaId}/online`,
} as const;

export type TopicKind = keyof typeof topics;

// A Map, not an object literal: `devices/x/constructor` must not find Object.prototype's members.
const SUFFIX_TO_KIND = new Map<string, TopicKind>([
  ['telemetry', 'telemetry'],
  ['ack', 'ack'],
  ['commands', 'commands'],
  ['commands/result', 'commandResult'],
  ['state', 'state'],
  ['online', 'online'],
  ['data', 'compatData'],
  ['status', 'compatStatus'],
  ['heartbeat', 'compatHeartbeat'],
]);
const ROOT_PREFIX = `${TOPIC_ROOT}/`;

/** Wildcard filters for subscribers (`+` = any device id). */
export const topicFilters = {
  telemetry: `${TOPIC_ROOT}/+/telemetry`,
  sharedTelemetry: (group: string) => `$share/${group}/${TOPIC_ROOT}/+/telemetry`,
  state: `${TOPIC_ROOT}/+/state`,
  online: `${TOPIC_ROOT}/+/online`,
  commandResult: `${TOPIC_ROOT}/+/commands/result`,
  compat: [`${TOPIC_ROOT}/+/data`, `${TOPIC_ROOT}/+/status`, `${TOPIC_ROOT}/+/heartbeat`],
  receiversOnline: `${RECEIVERS_ROOT}/+/online`,
} as const;

/**
 * The client id of a receiver replica's intake session. `:` is not allowed in device ids, so no device
 * can take it (device listeners use the user name as client id anyway).
 */
export function receiverClientId(replicaId: string): string {
  return `receiver:${replicaId}`;
}

/** The replica id of a `receivers/{id}/online` topic; undefined for any other topic. */
export function parseReceiverOnline(topic: string): string | undefined {
  const m = /^receivers\/([^/]+)\/online$/.exec(topic);
  return m?.[1];
}

/** Splits `devices/{id}/…` into device id and kind; undefined for anything else. */
export function parseTopic(topic: string): { deviceId: string; kind: TopicKind } | undefined {
  // Called for every inbound message: slices instead of split/join.
  if (!topic.startsWith(ROOT_PREFIX)) return undefined;
  const slash = topic.indexOf('/', ROOT_PREFIX.length);
  if (slash < 0) return undefined;
  const kind = SUFFIX_TO_KIND.get(topic.slice(slash + 1));
  if (!kind) return undefined;
  const deviceId = topic.slice(ROOT_PREFIX.length, slash);
  return DEVICE_ID_REGEX.test(deviceId) ? { deviceId, kind } : undefined;
}
