import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../harness/repo-root.js';
import { loadEnvSections, renderEnvSections } from './env-sections.js';

/** `npm run docs`: regenerate the env tables in README.md from the services' env schemas. */
const file = path.join(REPO_ROOT, 'README.md');
const before = readFileSync(file, 'utf8');
const after = renderEnvSections(before, await loadEnvSections());
if (after !== before) writeFileSync(file, after);
process.stdout.write(after === before ? 'README env tables are up to date\n' : 'README env tables updated\n');
