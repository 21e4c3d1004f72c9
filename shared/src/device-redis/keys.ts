/**
 * Device Redis layout (docs/design.md#device-redis): the only state on the device. Every device service uses
 * these names; REDIS_KEY_PREFIX lets several simulated devices share one Redis in the local stack.
 */
export function deviceKeys(prefix = 'sf:') {
  return {
    /** Stream; entry id `<seq>-0`, fields `ts` (ISO UTC) and `v` (values JSON). */
    outbox: `${prefix}outbox`,
    /**
     * Pub/sub channel: the append script publishes each new seq here, so the mqtthandler sends a live
     * reading at once instead of at its next poll. A hint only: the outbox stream stays the truth.
     */
    outboxAppended: `${prefix}outbox:appended`,
    /** Last assigned seq (INCR in the same script as the XADD). */
    seq: `${prefix}seq`,
    /** Revision of the last reported state (only grows; see device/mqtthandler state-revisions.ts). */
    stateRev: `${prefix}state:rev`,
    /**
     * Readings lost to the bounded outbox: counted when the bound drops a reading never sent, or when the
     * backend answers a probe that it does not have a dropped sent one (docs/design.md#outbox-drop-count).
     */
    dropped: `${prefix}dropped`,
    /** Highest seq the mqtthandler ever read for sending (raised in the same script as the read). */
    sentMax: `${prefix}sent:max`,
    /**
     * Sorted set (score seq, member `<seq> <ts>`): sent readings the bound dropped, not counted yet; the
     * mqtthandler asks the backend whether it stores them (bounded: UNCONFIRMED_DROPS_MAX).
     */
    dropsUnconfirmed: `${prefix}dropped:unconfirmed`,
    /**
     * Sorted set, same members: sent readings counted as dropped (the backend did not have them, or the
     * unconfirmed set was full). A late ack for one takes it off the count (bounded: COUNTED_DROPS_MAX).
     */
    dropsCounted: `${prefix}dropped:counted`,
    /**
     * Sorted set, same members, score: when it is due (wall-clock ms): drops counted on the backend's
     * `unknown` that get one more probe, in case an earlier copy was still on its way (bounded:
     * COUNTED_DROPS_MAX).
     */
    dropsRecheck: `${prefix}dropped:recheck`,
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
