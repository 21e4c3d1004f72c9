const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const TS_KEY = Buffer.from('"ts"');

function isJsonSpace(byte: number | undefined): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

function skipSpace(payload: Buffer, i: number): number {
  while (isJsonSpace(payload[i])) i++;
  return i;
}

/**
 * The latest measurement time (`Date.parse` ms) any reading of a telemetry payload can have, found
 * without parsing it: the maximum over every `"ts": "<string>"` in its bytes (strings that do not parse
 * as a time are left out; -Infinity when there is none). `undefined` when it cannot be told this way:
 * the payload has a backslash (an escape could spell a key or a time differently).
 *
 * Why it holds for any payload that JSON.parse accepts: without backslashes every `"` opens or closes a
 * string, so the four bytes `"ts"` are always the whole string `ts` (`ts` outside a string is not JSON),
 * and the value of a `ts` key that is a string is the bytes up to the next `"`, exactly as parsed. Every
 * reading's `ts` is therefore among the times seen here (and more that are not readings': an upper bound
 * is all that is claimed). A payload JSON.parse refuses shows nothing either way.
 */
export function latestTsBound(payload: Buffer): number | undefined {
  if (payload.indexOf(BACKSLASH) !== -1) return undefined;
  let latest = Number.NEGATIVE_INFINITY;
  for (let at = payload.indexOf(TS_KEY); at !== -1; at = payload.indexOf(TS_KEY, at + TS_KEY.length)) {
    let i = skipSpace(payload, at + TS_KEY.length);
    if (payload[i] !== COLON) continue; // "ts" as a value, not a key
    i = skipSpace(payload, i + 1);
    if (payload[i] !== QUOTE) continue; // not a string: no reading's time
    const end = payload.indexOf(QUOTE, i + 1);
    if (end === -1) return undefined; // unterminated: not JSON; let the parser say so
    const ms = Date.parse(payload.toString('utf8', i + 1, end));
    if (ms > latest) latest = ms;
    at = end - TS_KEY.length + 1;
  }
  return latest;
}
