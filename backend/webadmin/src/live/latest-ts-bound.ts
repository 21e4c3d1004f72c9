const QUOTE = 0x22;
const COLON = 0x3a;
const TS_KEY = '"ts"';

function skipSpace(text: string, i: number): number {
  let c = text.charCodeAt(i);
  while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = text.charCodeAt(++i);
  return i;
}

/**
 * The latest measurement time (`Date.parse` ms) any reading of a telemetry payload can have, found
 * without parsing it: the maximum over every `"ts": "<string>"` in its text (strings that do not parse
 * as a time are left out; -Infinity when there is none). `undefined` when it cannot be told this way:
 * the payload has a backslash (an escape could spell a key or a time differently).
 *
 * Why it holds for any payload that JSON.parse accepts: without backslashes every `"` opens or closes a
 * string, so the four characters `"ts"` are always the whole string `ts` (`ts` outside a string is not
 * JSON), and the value of a `ts` key that is a string is the text up to the next `"`, exactly as parsed.
 * Every reading's `ts` is therefore among the times seen here (and more that are not readings': an upper
 * bound is all that is claimed). A payload JSON.parse refuses shows nothing either way.
 */
export function latestTsBound(payload: Buffer): number | undefined {
  // The same text JSON.parse would see; string search on it is cheaper than on the bytes.
  const text = payload.toString('utf8');
  if (text.indexOf('\\') !== -1) return undefined;
  let latest = Number.NEGATIVE_INFINITY;
  for (let at = text.indexOf(TS_KEY); at !== -1; at = text.indexOf(TS_KEY, at + TS_KEY.length)) {
    let i = skipSpace(text, at + TS_KEY.length);
    if (text.charCodeAt(i) !== COLON) continue; // "ts" as a value, not a key
    i = skipSpace(text, i + 1);
    if (text.charCodeAt(i) !== QUOTE) continue; // not a string: no reading's time
    const end = text.indexOf('"', i + 1);
    if (end === -1) return undefined; // unterminated: not JSON; let the parser say so
    const ms = Date.parse(text.slice(i + 1, end));
    if (ms > latest) latest = ms;
    at = end - TS_KEY.length + 1;
  }
  return latest;
}
