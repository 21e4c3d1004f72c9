/**
 * Device Redis layout (docs/design.md#device-redis): the only state on the device. Every device service uses
 * these names; REDIS_KEY_PREFIX lets several simulated devices share one Redis in the local stack.
 */
export function deviceKeys(prefix = 'sf:') {
  return {
    /** Stream; entry id `<seq>-0`, fields `ts` (ISO UTC) and `v` (values JSON). */
    outbox: `${prefix}outbox`,
    /** Last assigned seq (INCR in the same script as the XADD). */
    seq: `${prefix}seq`,
    /** Revision of the last reported state (only grows; see device/mqtthandler state-revisions.ts). */
    stateRev: `${prefix}state:rev`,
    /** Readings lost to the bounded outbox (the mqtthandler takes back a dropped one that was acked after all). */
    dropped: `${prefix}dropped`,
    /** Readings the backend rejected as invalid (acked as rejected, removed). */
    rejected: `${prefix}rejected`,
    /** Hash: running ('1'|'0'), intervalMs, updatedAt, updatedBy. */
    measuring: `${prefix}measuring`,
    /** Pub/sub channel: measuring state changed (payload: JSON of the new state). */
    measuringChanged: `${prefix}measuring:changed`,
    /** Hash: sensor status reported by the sensor service. */
    sensorStatus: `${prefix}sensor`,
    /** Hash: command id → result JSON, for answering a repeated command without running it again. */
    commandResults: `${prefix}commands:results`,
    /** Sorted set: command id by time, to bound commandResults. */
    commandOrder: `${prefix}commands:order`,
  } as const;
}
export type DeviceKeys = ReturnType<typeof deviceKeys>;
