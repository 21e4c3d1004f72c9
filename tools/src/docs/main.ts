import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../stack/node-service.js';
import { ENV_SECTION_READMES, loadEnvSections, renderEnvSections } from './env-sections.js';

/** `npm run docs`: regenerate the env table in each service's README from that service's env schema. */
const sections = await loadEnvSections();
for (const [name, spec] of Object.entries(sections)) {
  const relative = ENV_SECTION_READMES[name];
  if (!relative) throw new Error(`no README is named for the env section ${name}`);
  const file = path.join(REPO_ROOT, relative);
  const before = readFileSync(file, 'utf8');
  const after = renderEnvSections(before, { [name]: spec });
  if (after !== before) writeFileSync(file, after);
  process.stdout.write(`${relative}: ${after === before ? 'env table up to date' : 'env table updated'}\n`);
}
