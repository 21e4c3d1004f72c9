import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../stack/node-service.js';
import { loadEnvSections, renderEnvSections } from './env-sections.js';
import { renderRejectionTable } from './rejection-table.js';

/**
 * `npm run docs`: regenerate the env tables in README.md from the services' env schemas, and the
 * receiver README's validation table from the rejection catalogue.
 */
const file = path.join(REPO_ROOT, 'README.md');
const before = readFileSync(file, 'utf8');
const after = renderEnvSections(before, await loadEnvSections());
if (after !== before) writeFileSync(file, after);
process.stdout.write(after === before ? 'README env tables are up to date\n' : 'README env tables updated\n');

const receiverReadme = path.join(REPO_ROOT, 'backend/receiver/README.md');
const readmeBefore = readFileSync(receiverReadme, 'utf8');
const readmeAfter = renderRejectionTable(readmeBefore);
if (readmeAfter !== readmeBefore) writeFileSync(receiverReadme, readmeAfter);
process.stdout.write(
  readmeAfter === readmeBefore
    ? 'receiver validation table is up to date\n'
    : 'receiver validation table updated\n',
);
