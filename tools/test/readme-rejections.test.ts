import { readFileSync } from 'node:fs';
import { REJECTION_REASONS } from '@sensorfleet/shared';
import { describe, expect, it } from 'vitest';
import { REJECTION_TABLE_MARKER, rejectionTable, renderRejectionTable } from '../src/docs/rejection-table.js';

describe('the receiver README validation table', () => {
  it('is the rejection catalogue (run `npm run docs` to update)', () => {
    const readme = readFileSync(new URL('../../backend/receiver/README.md', import.meta.url), 'utf8');
    expect(readme).toContain(REJECTION_TABLE_MARKER);
    expect(renderRejectionTable(readme)).toBe(readme);
  });

  it('lists every reason of the catalogue in every scope it occurs in', () => {
    const table = rejectionTable();
    for (const [reason, scopes] of Object.entries(REJECTION_REASONS)) {
      for (const scope of Object.keys(scopes)) expect(table).toContain(`| ${scope} | \`${reason}\` |`);
    }
  });
});
