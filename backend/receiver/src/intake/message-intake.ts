/**
 * The receiver's edge: one MQTT message in, one IngestItem out (or nothing, for a topic that is not ours).
 * Pure apart from the clock it is given: every payload is validated here with the shared schemas, and
 * nothing behind this point checks again.
 */
import { createDecoder, parseTopic, ReportedState, type RejectionReason } from '@sensorfleet/shared';
import { data004 } from '../compat004/data-topic.js';
import { heartbeat004 } from '../compat004/heartbeat-topic.js';
import { status004 } from '../compat004/status-topic.js';
import { deriveValues } from './derived-values.js';
import type { InboundKind, IngestItem, IntakeParts } from '../ingest/ingest-item.js';
import type { MessageLogMode } from '../ingest/message-log.js';
import { parseJsonLenient } from './lenient-json.js';
import { implausibility } from './plausibility.js';
import { createTelemetryValidator } from './telemetry-validator.js';

export interface IntakeOptions {
  maxBytes: number;
  maxFutureMs: number;
  /** Compute heat_index and dew_point where temperature and humidity arrive together. */
  derivedValues: boolean;
  messageLog: MessageLogMode;
  /** Bytes of a payload kept for the message log. */
  logPayloadBytes: number;
}

const KINDS: Partial<Record<string, InboundKind>> = {
  telemetry: 'telemetry',
  state: 'state',
  online: 'online',
  compatData: 'data',
  compatStatus: 'status',
  compatHeartbeat: 'heartbeat',
};

/**
 * Derived values of a reading: those the device did not send itself, and only plausible ones (the
 * regression behind heat_index has no meaning far outside the weather).
 */
export function derivedOf(values: Record<string, number>): Record<string, number> {
  const derived = deriveValues(values);
  for (const name in derived) {
    if (Object.hasOwn(values, name) || implausibility(name, derived[name]!)) delete derived[name];
  }
  return derived;
}

const EMPTY = Buffer.alloc(0);

export class MessageIntake {
  private readonly telemetry: ReturnType<typeof createTelemetryValidator>;
  private readonly state;
  private readonly derive: (values: Record<string, number>) => Record<string, number>;

  constructor(private readonly opts: IntakeOptions) {
    this.telemetry = createTelemetryValidator(opts);
    this.state = createDecoder(ReportedState, { maxBytes: opts.maxBytes });
    this.derive = opts.derivedValues ? derivedOf : () => ({});
  }

  /** undefined: the topic is not one of ours (or names an invalid device id). */
  take(topic: string, payload: Buffer, retained: boolean, receivedAt: number): IngestItem | undefined {
    const parsed = parseTopic(topic);
    const kind = parsed && KINDS[parsed.kind];
    if (!parsed || !kind) return undefined;
    const parts = this.parts(kind, payload, receivedAt);
    return {
      deviceId: parsed.deviceId,
      kind,
      receivedAt,
      retained,
      bytes: payload.length,
      logPayload: this.logPayload(payload),
      readings: parts.readings,
      rejected: parts.rejected,
      registry: parts.registry,
      acks: kind === 'telemetry',
      probe: parts.probe,
      receipt: undefined,
    };
  }

  /**
   * A view, not a copy, when the whole payload is kept: the packet's buffer is ours (mqtt-packet does not
   * reuse it) and the item lives only until its batch commits; copying every payload was measurable with
   * 1-reading messages. A cut payload is copied so the rest of a large message is not held in memory.
   */
  private logPayload(payload: Buffer): Buffer {
    if (this.opts.messageLog === 'off') return EMPTY;
    if (payload.length <= this.opts.logPayloadBytes) return payload;
    return Buffer.from(payload.subarray(0, this.opts.logPayloadBytes));
  }

  private parts(kind: InboundKind, payload: Buffer, receivedAt: number): IntakeParts {
    switch (kind) {
      case 'telemetry': {
        const v = this.telemetry(payload, receivedAt);
        if (!v.ok) return { readings: [], rejected: [v.rejection], registry: [] };
        for (const r of v.readings) r.derived = this.derive(r.values);
        return { readings: v.readings, rejected: v.rejected, registry: [], probe: v.probe };
      }
      case 'state': {
        const rejected = (reason: RejectionReason, detail: string): IntakeParts => ({
          readings: [],
          rejected: [{ scope: 'message', reason, detail }],
          registry: [],
        });
        if (payload.length > this.opts.maxBytes) {
          return rejected(
            'oversized',
            `payload of ${payload.length} bytes exceeds the limit of ${this.opts.maxBytes}`,
          );
        }
        const json = parseJsonLenient(payload.toString('utf8'));
        if (!json.ok) return rejected('malformed_json', json.error);
        const v = (json.value as { v?: unknown } | null)?.v;
        if (typeof json.value === 'object' && json.value !== null && v !== 1) {
          return rejected(
            'unknown_version',
            `unknown state version v=${JSON.stringify(v)} (this receiver speaks v=1)`,
          );
        }
        const d = this.state.check(json.value);
        if (!d.ok) return rejected(d.reason, d.error);
        const ts = Date.parse(d.value.ts);
        return {
          readings: [],
          rejected: [],
          registry: [
            {
              kind: 'state',
              state: d.value,
              at: Number.isFinite(ts) ? ts : receivedAt,
              ...(d.value.rev !== undefined ? { rev: d.value.rev } : {}),
            },
          ],
        };
      }
      case 'online': {
        const text = payload.toString('utf8').trim();
        if (text !== 'true' && text !== 'false') {
          return {
            readings: [],
            rejected: [
              {
                scope: 'message',
                reason: 'schema',
                detail: `online must be true or false, got ${JSON.stringify(text.slice(0, 20))}`,
              },
            ],
            registry: [],
          };
        }
        return { readings: [], rejected: [], registry: [{ kind: 'online', online: text === 'true' }] };
      }
      case 'data':
        return data004(payload, receivedAt, { ...this.opts, derive: this.derive });
      case 'status':
        return status004(payload, this.opts.maxBytes);
      case 'heartbeat':
        return heartbeat004(payload, this.opts.maxBytes);
    }
  }
}
