/** What the bench's web clients need of a web admin `/ws` frame. */
export type LiveFrame =
  { type: 'reading'; deviceId: string; ts: string } | { type: 'dropped' } | { type: 'other' };

/**
 * The reading frame as the web admin's live hub writes it (`JSON.stringify({ type, deviceId, ...reading })`,
 * reading = seq, ts, values): its first fields read without parsing the whole frame. Quotes and
 * backslashes are excluded from the captured strings, so a match means exactly what JSON.parse would read.
 */
const READING_HEAD = /^\{"type":"reading","deviceId":"([^"\\]*)","seq":-?\d+,"ts":"([^"\\]*)"/;

/** The fast path alone: a reading frame in the hub's exact form, else undefined. */
export function readingHead(text: string): Extract<LiveFrame, { type: 'reading' }> | undefined {
  const head = READING_HEAD.exec(text);
  return head ? { type: 'reading', deviceId: head[1]!, ts: head[2]! } : undefined;
}

/**
 * Reads a frame's type, and a reading's device and measurement time. Twenty clients receive every reading
 * of a thousand devices: a full JSON.parse per frame was most of the bench process's CPU. Any frame not in
 * the hub's exact form goes through JSON.parse, so every frame is still read (and timed) as before.
 */
export function parseLiveFrame(text: string): LiveFrame | undefined {
  const head = readingHead(text);
  if (head) return head;
  let m: { type?: unknown; deviceId?: unknown; ts?: unknown };
  try {
    m = JSON.parse(text) as typeof m;
  } catch {
    return undefined;
  }
  if (m === null || typeof m !== 'object') return undefined;
  if (m.type === 'dropped') return { type: 'dropped' };
  if (m.type === 'reading' && typeof m.ts === 'string' && typeof m.deviceId === 'string')
    return { type: 'reading', deviceId: m.deviceId, ts: m.ts };
  return { type: 'other' };
}
