import { describe, expect, it } from 'vitest';
import { csvCell, csvLine } from '../src/queries/csv-export.js';

describe('CSV cells', () => {
  it('writes numbers plainly, negative ones included', () => {
    expect(csvCell(21.5)).toBe('21.5');
    expect(csvCell(-3.25)).toBe('-3.25');
    expect(csvCell(0)).toBe('0');
    expect(csvCell(Number.NaN)).toBe('');
    expect(csvCell(null)).toBe('');
  });

  it.each([
    ['=HYPERLINK("http://x")', `"'=HYPERLINK(""http://x"")"`],
    ['+1+1', "'+1+1"],
    ['-2+3', "'-2+3"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['\t=1', "'\t=1"],
  ])('quotes %j against formula injection', (text, cell) => {
    expect(csvCell(text)).toBe(cell);
  });

  it('quotes commas, quotes and line breaks (RFC 4180) and leaves plain text alone', () => {
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('two\nlines')).toBe('"two\nlines"');
    expect(csvCell('2026-11-20T00:00:00.000Z')).toBe('2026-11-20T00:00:00.000Z');
    expect(csvLine([1, '2026-11-20T00:00:00.000Z', -1, null])).toBe('1,2026-11-20T00:00:00.000Z,-1,\r\n');
  });
});
