import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ENV_SECTION_READMES,
  envMarker,
  loadEnvSections,
  renderEnvSections,
} from '../src/docs/env-sections.js';

const repoFile = (relative: string) => readFileSync(new URL(`../../${relative}`, import.meta.url), 'utf8');

describe('README env tables', () => {
  it("match each service's env schema, in that service's README (run `npm run docs` to update)", async () => {
    const sections = await loadEnvSections();
    for (const [name, spec] of Object.entries(sections)) {
      const relative = ENV_SECTION_READMES[name];
      expect(relative, `README of the env section ${name}`).toBeDefined();
      const readme = repoFile(relative!);
      expect(readme).toContain(envMarker(name)[0]);
      expect(renderEnvSections(readme, { [name]: spec }), relative).toBe(readme);
    }
  });

  it('live once: the root README links to the service tables instead of repeating them', async () => {
    const root = repoFile('README.md');
    for (const [name, relative] of Object.entries(ENV_SECTION_READMES)) {
      expect(root).not.toContain(envMarker(name)[0]);
      expect(root).toContain(`(${relative}#`);
    }
    expect(Object.keys(ENV_SECTION_READMES).sort()).toEqual(Object.keys(await loadEnvSections()).sort());
  });
});
