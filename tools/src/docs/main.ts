import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../harness/repo-root.js';
import { ENV_SECTION_READMES, loadEnvSections, renderEnvSections } from './env-sections.js';
import { renderRejectionTable } from './rejection-table.js';

/**
 * `npm run docs`: regenerate the env table in each service's README from that service's env schema, and
 * the receiver README's validation table from the rejection catalogue.
 */
function rewrite(relative: string, render: (text: string) => string, what: string): void {
  const file = path.join(REPO_ROOT, relative);
  const before = readFileSync(file, 'utf8');
  const after = render(before);
  if (after !== before) writeFileSync(file, after);
  process.stdout.write(`${relative}: ${what} ${after === before ? 'up to date' : 'updated'}\n`);
}

const sections = await loadEnvSections();
for (const [name, spec] of Object.entries(sections)) {
  const relative = ENV_SECTION_READMES[name];
  if (!relative) throw new Error(`no README is named for the env section ${name}`);
  rewrite(relative, (text) => renderEnvSections(text, { [name]: spec }), 'env table');
}
rewrite('backend/receiver/README.md', renderRejectionTable, 'validation table');
