import { REJECTION_REASONS, REJECTION_SCOPES, type RejectionReason } from '@sensorfleet/shared';

/**
 * The receiver README's validation table, generated from the rejection catalogue (shared
 * rejection-reasons.ts) so the README names exactly the reasons the receiver emits, acks and counts.
 * `npm run docs` rewrites the marked section; a unit test fails when it is stale.
 */
const OPEN = '<!-- rejection-reasons -->';
const CLOSE = '<!-- /rejection-reasons -->';

export function rejectionTable(): string {
  const rows = ['| scope | reason | rule |', '|---|---|---|'];
  for (const scope of REJECTION_SCOPES) {
    for (const reason of Object.keys(REJECTION_REASONS) as RejectionReason[]) {
      const rules: Partial<Record<string, string>> = REJECTION_REASONS[reason];
      const rule = rules[scope];
      if (rule !== undefined) rows.push(`| ${scope} | \`${reason}\` | ${rule} |`);
    }
  }
  return rows.join('\n');
}

/** The README with its marked rejection section replaced by the generated table (unchanged without markers). */
export function renderRejectionTable(readme: string): string {
  const start = readme.indexOf(OPEN);
  const end = readme.indexOf(CLOSE);
  if (start < 0 || end < start) return readme;
  return `${readme.slice(0, start + OPEN.length)}\n${rejectionTable()}\n${readme.slice(end)}`;
}

export const REJECTION_TABLE_MARKER = OPEN;
