import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  brokenLinks,
  githubSlug,
  headingAnchors,
  isCheckedTextFile,
  markdownLinks,
  outsideReferences,
  walkRepo,
} from '../src/docs/doc-links.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('the repository documentation', () => {
  const markdownFiles = walkRepo(ROOT, (f) => f.endsWith('.md'));

  it('has its design and reference pages', () => {
    expect(markdownFiles).toEqual(
      expect.arrayContaining(['docs/design.md', 'docs/reference.md', 'README.md']),
    );
  });

  it('has no relative link in any markdown file that does not resolve (files and #anchors)', () => {
    expect(markdownFiles.flatMap((f) => brokenLinks(ROOT, f))).toEqual([]);
  });

  it('has no file that points at a document outside the repository', () => {
    const files = walkRepo(ROOT, isCheckedTextFile);
    expect(files.length).toBeGreaterThan(100);
    const problems = files.flatMap((f) =>
      outsideReferences(ROOT, f, readFileSync(path.join(ROOT, f), 'utf8')),
    );
    expect(problems).toEqual([]);
  });
});

describe('the link checker', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sf-docs-links-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const write = (relative: string, text: string) => {
    mkdirSync(path.dirname(path.join(dir, relative)), { recursive: true });
    writeFileSync(path.join(dir, relative), text);
  };

  it('makes the anchors GitHub makes', () => {
    expect(githubSlug('Provisioning: `npm run device`')).toBe('provisioning-npm-run-device');
    expect(githubSlug('`ingest.json` — receiver ingest (`npm run bench`)')).toBe(
      'ingestjson--receiver-ingest-npm-run-bench',
    );
    expect(githubSlug('Web admin (being built)')).toBe('web-admin-being-built');
    expect(githubSlug('MQTT_URL and [links](x.md)')).toBe('mqtt_url-and-links');
    expect([...headingAnchors('# A\n## A\n```\n# not a heading\n```\nSetext\n---\n')]).toEqual([
      'a',
      'a-1',
      'setext',
    ]);
  });

  it('finds links outside code only', () => {
    const links = markdownLinks(
      '[a](x.md) `[b](y.md)`\n```\n[c](z.md)\n```\n![img](p.png "t")\n[r]: ref.md\n',
    );
    expect(links.map((l) => l.target)).toEqual(['x.md', 'p.png', 'ref.md']);
  });

  it('reports a missing file, a missing anchor and a link out of the repository', () => {
    write('docs/page.md', '# Page\n## Known part\n');
    write(
      'sub/README.md',
      [
        '[ok](../docs/page.md#known-part)',
        '[ok too](#local)',
        '[gone](../docs/missing.md)',
        '[no anchor](../docs/page.md#unknown-part)',
        '[outside](../../elsewhere/README.md)',
        '[web](https://example.com/x.md)',
        '## Local',
      ].join('\n'),
    );
    const problems = brokenLinks(dir, 'sub/README.md');
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/missing\.md does not exist/);
    expect(problems[1]).toMatch(/no heading with the anchor #unknown-part/);
    expect(problems[2]).toMatch(/points outside the repository/);
  });

  it('reports documents that live outside the repository and paths that climb out of it', () => {
    const design = ['DESIGN', 'md'].join('.');
    const reference = ['shared', 'reference', 'README.md'].join('/');
    const text = [
      `// see ${design} "Delivery guarantee"`,
      `// values from ${reference}`,
      `import x from '${'../'.repeat(4)}shared/x.js';`, // four levels up from backend/receiver/src
      `import y from '${'../'.repeat(3)}shared/y.js';`, // three: the repository's own shared/
      `"references": [{ "path": "../../shared" }]`,
      '// see docs/design.md#delivery-guarantee',
    ].join('\n');
    const problems = outsideReferences(dir, 'backend/receiver/src/file.ts', text);
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/:1: .* is not in the repository/);
    expect(problems[1]).toMatch(/:2: .* is not in the repository/);
    expect(problems[2]).toMatch(/:3: .* climbs out of the repository/);
  });
});
