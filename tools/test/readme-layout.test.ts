import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '@sensorfleet/tools/harness';

/** The folder entries of the README's "Layout" block: the first word of each line that ends with `/`. */
function layoutEntries(): string[] {
  const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const section = readme.split(/^## Layout$/m)[1]?.split(/^## /m)[0];
  if (!section) throw new Error('README.md has no "## Layout" section');
  const block = /```\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
  return block
    .split('\n')
    .map((line) => line.split(/\s+/)[0] ?? '')
    .filter((word) => word.length > 0);
}

/** Folders a newcomer must find in the layout: service folders and the top-level ones we keep. */
function foldersThatMustBeListed(): string[] {
  const serviceFolders = ['device', 'backend'].flatMap((group) =>
    readdirSync(path.join(REPO_ROOT, group))
      .filter((name) => statSync(path.join(REPO_ROOT, group, name)).isDirectory())
      .map((name) => `${group}/${name}/`),
  );
  return [...serviceFolders, 'shared/', 'tools/', 'docs/'];
}

describe('README layout', () => {
  it('names only paths that exist', () => {
    const missing = layoutEntries().filter((entry) => !existsSync(path.join(REPO_ROOT, entry)));
    expect(missing).toEqual([]);
  });

  it('lists every service folder and the top-level folders', () => {
    const listed = new Set(layoutEntries());
    expect(foldersThatMustBeListed().filter((folder) => !listed.has(folder))).toEqual([]);
  });
});
