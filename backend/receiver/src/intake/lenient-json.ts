/**
 * JSON.parse that also reads the bare tokens `NaN`, `Infinity` and `-Infinity` as numbers. They are not
 * JSON, but Python's json.dumps writes them by default (and so do many device SDKs): rejecting the whole
 * message as malformed would throw away its good readings, so the validators get the non-finite number and
 * reject just the reading that holds it (reason `non_finite_value`).
 */
import { randomBytes } from 'node:crypto';

export type JsonParse = { ok: true; value: unknown } | { ok: false; error: string };

// A device may send any string, this prefix included: the mark carries a secret of this process, so only
// the tokens this parser quoted itself turn back into numbers (a sent "\u0000nonfinite:21" stays a string).
const MARK = `\u0000nonfinite:${randomBytes(9).toString('base64url')}:`;
const TOKENS: readonly [string, number][] = [
  ['-Infinity', -Infinity],
  ['Infinity', Infinity],
  ['NaN', NaN],
];

export function parseJsonLenient(text: string): JsonParse {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (err) {
    const error = `malformed JSON: ${err instanceof Error ? err.message : String(err)}`;
    if (!/NaN|Infinity/.test(text)) return { ok: false, error };
    const marked = markNonFinite(text);
    if (marked === undefined) return { ok: false, error };
    try {
      const value = JSON.parse(marked, (_key, v: unknown) =>
        typeof v === 'string' && v.startsWith(MARK) ? Number(v.slice(MARK.length)) : v,
      ) as unknown;
      return { ok: true, value };
    } catch {
      return { ok: false, error };
    }
  }
}

/** Quotes bare NaN / Infinity / -Infinity tokens outside strings; undefined if there are none. */
function markNonFinite(text: string): string | undefined {
  let out = '';
  let inString = false;
  let found = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      out += c;
      if (c === '\\') out += text[++i] ?? '';
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') {
      inString = true;
      out += c;
      continue;
    }
    const token = TOKENS.find(([t]) => text.startsWith(t, i) && !/[\w$]/.test(text[i + t.length] ?? ''));
    if (token && !/[\w$.]/.test(text[i - 1] ?? '')) {
      out += JSON.stringify(MARK + String(token[1]));
      i += token[0].length - 1;
      found = true;
      continue;
    }
    out += c;
  }
  return found ? out : undefined;
}
