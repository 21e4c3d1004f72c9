import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * Checks that the repository's documentation stands on its own: every relative link in its markdown
 * resolves (anchors included, with GitHub's heading slugs), and no file points at a document outside the
 * repository, which a reader who cloned it could not open. Pure file system reads; no network.
 */

/** Folders never walked: installed packages, build output, local data, test artefacts. */
const SKIPPED_DIRS = new Set(['.git', 'node_modules', 'dist', '.data', 'test-results', 'coverage']);

/** Files under `root` (paths relative to it, with `/`) for which `keep` is true. */
export function walkRepo(root: string, keep: (relative: string) => boolean): string[] {
  const out: string[] = [];
  const visit = (dir: string) => {
    for (const entry of readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const relative = dir ? `${dir}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        if (!SKIPPED_DIRS.has(entry.name)) visit(relative);
      } else if (entry.isFile() && keep(relative)) {
        out.push(relative);
      }
    }
  };
  visit('');
  return out.sort();
}

/** Markdown with fenced code blocks blanked out (lines kept, so line numbers stay right). */
function withoutFences(markdown: string): string[] {
  let fence: string | undefined;
  return markdown.split('\n').map((line) => {
    const m = /^\s{0,3}(`{3,}|~{3,})/.exec(line);
    if (fence) {
      if (m && m[1]![0] === fence[0] && m[1]!.length >= fence.length) fence = undefined;
      return '';
    }
    if (m) {
      fence = m[1];
      return '';
    }
    // Indented code (4 spaces after a blank line) is rare here; inline code spans are removed by callers.
    return line;
  });
}

/**
 * The anchor GitHub gives a heading: the rendered text lower-cased, everything but letters, digits,
 * marks, `_`, `-` and spaces removed, each space turned into `-` (github-slugger's rule).
 */
export function githubSlug(heading: string): string {
  const text = heading
    .replace(/!\[[^\]]*\]\([^)]*\)/g, '') // images
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1') // links → their text
    .replace(/<[^>]+>/g, '') // inline HTML
    .replace(/`([^`]*)`/g, '$1') // code spans → their text
    .replace(/\*/g, ''); // emphasis
  return text
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '')
    .replace(/ /g, '-');
}

/** Every anchor the headings of a markdown file get on GitHub (repeated slugs get -1, -2, …). */
export function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  const add = (heading: string) => {
    const slug = githubSlug(heading);
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    anchors.add(n === 0 ? slug : `${slug}-${n}`);
  };
  const lines = withoutFences(markdown);
  lines.forEach((line, i) => {
    const atx = /^\s{0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/.exec(line);
    if (atx) return add(atx[1]!);
    const prev = lines[i - 1];
    if (/^\s{0,3}(=+|-+)\s*$/.test(line) && prev && prev.trim() && !/^\s*([|>*+-]|\d+\.)/.test(prev)) {
      add(prev.trim());
    }
  });
  return anchors;
}

export interface MarkdownLink {
  line: number;
  target: string;
}

/** Link targets of a markdown file (inline links, images, reference definitions), outside code. */
export function markdownLinks(markdown: string): MarkdownLink[] {
  const links: MarkdownLink[] = [];
  withoutFences(markdown).forEach((raw, i) => {
    const line = raw.replace(/(`+)[\s\S]*?\1/g, '');
    for (const m of line.matchAll(/!?\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]*)>?(?:\s+["'(][^)]*)?\)/g)) {
      links.push({ line: i + 1, target: m[1]! });
    }
    const ref = /^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/.exec(line);
    if (ref) links.push({ line: i + 1, target: ref[1]! });
  });
  return links;
}

const isExternal = (target: string) => /^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//');

/** Broken relative links of the markdown file `file` (relative to `root`), as readable messages. */
export function brokenLinks(root: string, file: string): string[] {
  const problems: string[] = [];
  const markdown = readFileSync(path.join(root, file), 'utf8');
  const anchorsOf = new Map<string, Set<string>>();
  const anchors = (relative: string) => {
    let set = anchorsOf.get(relative);
    if (!set) {
      set = headingAnchors(readFileSync(path.join(root, relative), 'utf8'));
      anchorsOf.set(relative, set);
    }
    return set;
  };
  for (const { line, target } of markdownLinks(markdown)) {
    if (!target || isExternal(target)) continue;
    const where = `${file}:${line}: ${target}`;
    const hash = target.indexOf('#');
    const pathPart = decodeURIComponent(hash < 0 ? target : target.slice(0, hash));
    const anchor = hash < 0 ? undefined : decodeURIComponent(target.slice(hash + 1));
    const resolved = pathPart
      ? path.normalize(
          pathPart.startsWith('/')
            ? path.join(root, pathPart)
            : path.join(root, path.dirname(file), pathPart),
        )
      : path.join(root, file);
    const relative = path.relative(root, resolved).split(path.sep).join('/');
    if (relative.startsWith('..') || path.isAbsolute(relative)) {
      problems.push(`${where}: points outside the repository`);
      continue;
    }
    if (!existsSync(resolved)) {
      problems.push(`${where}: ${relative} does not exist`);
      continue;
    }
    if (anchor && relative.endsWith('.md') && statSync(resolved).isFile()) {
      if (!anchors(relative).has(anchor)) {
        problems.push(`${where}: ${relative} has no heading with the anchor #${anchor}`);
      }
    }
  }
  return problems;
}

// Spelled in pieces so that this file does not match its own patterns.
const OUTSIDE_DOCUMENTS: readonly { pattern: RegExp; why: string }[] = [
  { pattern: new RegExp(`\\b${'DESIGN'}\\.md\\b`), why: 'the design is docs/design.md' },
  { pattern: new RegExp(`shared/${'reference'}\\b`), why: 'the reference values are in docs/reference.md' },
];

/**
 * References of the file `file` (relative to `root`, with contents `text`) to documents outside the
 * repository: names of documents that only exist outside it, and relative paths (`../…`) that climb
 * above the repository root from the file's folder.
 */
export function outsideReferences(root: string, file: string, text: string): string[] {
  const problems: string[] = [];
  text.split('\n').forEach((line, i) => {
    const where = `${file}:${i + 1}`;
    for (const { pattern, why } of OUTSIDE_DOCUMENTS) {
      const m = pattern.exec(line);
      if (m) problems.push(`${where}: "${m[0]}" is not in the repository (${why})`);
    }
    for (const m of line.matchAll(/(?<![\w./-])((?:\.\.\/)+)[\w.-]*/g)) {
      const resolved = path.resolve(root, path.dirname(file), m[1]!);
      const relative = path.relative(root, resolved);
      if (relative.startsWith('..') || path.isAbsolute(relative)) {
        problems.push(`${where}: "${m[0]}" climbs out of the repository`);
      }
    }
  });
  return problems;
}

/** Text files whose references are checked: sources, configs, scripts and docs. */
export function isCheckedTextFile(relative: string): boolean {
  const name = relative.slice(relative.lastIndexOf('/') + 1);
  if (name === 'package-lock.json') return false;
  return (
    /\.(ts|js|mjs|cjs|json|md|ya?ml|conf|sh|template)$/.test(name) ||
    name === 'acl' ||
    name.startsWith('Dockerfile') ||
    name.startsWith('.') // .gitignore, .prettierrc.json, .ci/run's siblings…
  );
}
