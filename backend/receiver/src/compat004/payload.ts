/**
 * The message-level checks of every 004 payload (data, status, heartbeat): size, text, JSON. Parsed with
 * the same lenient parser as native telemetry, so a Python device's bare NaN rejects one sample instead
 * of the message. 004 devices also send a leading byte-order mark: tolerated, as are spaces around.
 */
import type { IntakeParts, Rejection } from '../ingest/ingest-item.js';
import { parseJsonLenient } from '../intake/lenient-json.js';
import { shown } from '../intake/reading-rules.js';

export type Parsed004<T> = { ok: true; value: T } | { ok: false; rejection: Rejection };

const utf8 = new TextDecoder('utf-8', { fatal: true });

const failed = (reason: Rejection['reason'], detail: string): { ok: false; rejection: Rejection } => ({
  ok: false,
  rejection: { scope: 'message', reason, detail },
});

/**
 * The payload as JSON. `whenEmpty`: what an empty payload stands for (a heartbeat may be empty); without
 * it an empty payload is malformed.
 */
export function parse004(payload: Buffer, maxBytes: number, whenEmpty?: unknown): Parsed004<unknown> {
  if (payload.length > maxBytes) {
    return failed('oversized', `payload of ${payload.length} bytes exceeds the limit of ${maxBytes}`);
  }
  let text: string;
  try {
    // Strict: a broken byte must not turn into U+FFFD inside a sensor name or a status text.
    text = utf8.decode(payload);
  } catch {
    return failed('malformed_json', 'payload is not valid UTF-8');
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trim() === '') {
    return whenEmpty === undefined
      ? failed('malformed_json', 'empty payload')
      : { ok: true, value: whenEmpty };
  }
  const json = parseJsonLenient(text);
  return json.ok ? json : failed('malformed_json', json.error);
}

/** A message rejected as a whole: nothing of it is used. */
export const whole = (rejection: Rejection): IntakeParts => ({
  readings: [],
  rejected: [rejection],
  registry: [],
});

export const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** A payload that must be a JSON object (`what` names it in the detail). */
export function parse004Object(
  payload: Buffer,
  maxBytes: number,
  what: string,
  whenEmpty?: Record<string, unknown>,
): Parsed004<Record<string, unknown>> {
  const parsed = parse004(payload, maxBytes, whenEmpty);
  if (!parsed.ok) return parsed;
  if (!isPlainObject(parsed.value)) {
    return failed('schema', `${what} payload must be a JSON object, got ${shown(parsed.value)}`);
  }
  return { ok: true, value: parsed.value };
}
