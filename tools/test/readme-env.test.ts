import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadEnvSections, README_FILES, renderEnvSections } from '../src/docs/env-sections.js';

describe('README env tables', () => {
  it('match the env schemas of the services (run `npm run docs` to update)', async () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const sections = await loadEnvSections();
    for (const name of Object.keys(sections)) expect(readme).toContain(`<!-- env:${name} -->`);
    expect(renderEnvSections(readme, sections)).toBe(readme);
  });

  it('match in the services’ own READMEs too', async () => {
    const sections = await loadEnvSections();
    for (const name of README_FILES) {
      const text = readFileSync(new URL(`../../${name}`, import.meta.url), 'utf8');
      expect(renderEnvSections(text, sections), name).toBe(text);
    }
  });
});
