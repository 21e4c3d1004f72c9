import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../stack/node-service.js';
import { loadEnvSections, README_FILES, renderEnvSections } from './env-sections.js';

/** `npm run docs`: regenerate the env tables in the READMEs from the services' env schemas. */
const sections = await loadEnvSections();
for (const name of README_FILES) {
  const file = path.join(REPO_ROOT, name);
  const before = readFileSync(file, 'utf8');
  const after = renderEnvSections(before, sections);
  if (after !== before) writeFileSync(file, after);
  process.stdout.write(`${name}: ${after === before ? 'env tables are up to date' : 'env tables updated'}\n`);
}
