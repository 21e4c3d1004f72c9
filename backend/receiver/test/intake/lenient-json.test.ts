import { describe, expect, it } from 'vitest';
import { parseJsonLenient } from '../../src/intake/lenient-json.js';

describe('parseJsonLenient', () => {
  it('parses plain JSON as JSON.parse does', () => {
    expect(parseJsonLenient('{"a":[1,"NaN",null]}')).toEqual({ ok: true, value: { a: [1, 'NaN', null] } });
  });

  it('reads bare NaN / Infinity / -Infinity as numbers, but not inside strings', () => {
    const r = parseJsonLenient('{"a":NaN,"b":[Infinity,-Infinity],"c":"NaN Infinity","d\\"NaN":1}');
    expect(r.ok).toBe(true);
    const v = (r as { value: Record<string, unknown> }).value;
    expect(v.a).toBeNaN();
    expect(v.b).toEqual([Infinity, -Infinity]);
    expect(v.c).toBe('NaN Infinity');
    expect(v['d"NaN']).toBe(1);
  });

  it('leaves a string alone that looks like its own internal mark', () => {
    const r = parseJsonLenient('{"a":"\\u0000nonfinite:21","b":NaN}');
    expect(r.ok).toBe(true);
    expect((r as { value: Record<string, unknown> }).value.a).toBe('\u0000nonfinite:21');
  });

  it('still rejects what is not JSON otherwise', () => {
    expect(parseJsonLenient('{"a":NaNa}').ok).toBe(false);
    expect(parseJsonLenient('{a:1}').ok).toBe(false);
    expect(parseJsonLenient('').ok).toBe(false);
  });
});
